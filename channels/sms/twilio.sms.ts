// Twilio Programmable Messaging: send through the REST API with fetch, verify X-Twilio-Signature
// ourselves, and parse the form-encoded inbound-SMS and status-callback webhooks.
//
// Signature (docs: usage/webhooks/webhooks-security): base64(HMAC-SHA1(auth token, URL + every
// POST param sorted by name, appended as name+value)). Like twilio-node we accept the URL with
// and without its default port (Twilio is not consistent), and for a repeated param we append
// each distinct value, sorted. JSON-bodied webhooks sign the URL only, which carries bodySHA256.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { headerValue, ProviderError, type ChannelAdapter, type InboundItem, type InboundMessageItem, type InboundRequest, type InboundStatusItem, type OutboundSms, type SendResult } from '../channel';
import { httpUrlVar, missingVars, readVar } from '../env';
import { checkOutbound, networkError, SmsPayloadError } from './common';
import { toE164 } from './phone';
import { defineSmsProvider } from './provider';

export interface TwilioSmsConfig {
  accountSid: string;
  authToken: string;
  /** E.164 sender number, or a Messaging Service SID (MG…) */
  from: string;
  apiBase: string;
}

// ---------------------------------------------------------------- signature

export type TwilioParams = Record<string, string | string[]>;

export function twilioSignature(authToken: string, url: string, params: TwilioParams = {}): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const v = params[name];
    const values = Array.isArray(v) ? [...new Set(v)].sort() : [v];
    for (const value of values) data += name + value;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** The URL as given, with its default port added, and with any port removed (de-duplicated). */
export function twilioUrlVariants(url: string): string[] {
  const out = new Set<string>([url]);
  const m = /^(https?):\/\/([^/?#@]+@)?(\[[^\]]+\]|[^/?#:]+)(:\d+)?(.*)$/i.exec(url);
  if (m) {
    const [, scheme, userinfo = '', host, port, rest] = m;
    const def = scheme.toLowerCase() === 'https' ? ':443' : ':80';
    out.add(`${scheme}://${userinfo}${host}${rest}`);
    if (!port) out.add(`${scheme}://${userinfo}${host}${def}${rest}`);
  }
  return [...out];
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Checks every URL variant (always all of them, so timing does not say which matched). */
export function validateTwilioSignature(authToken: string, signature: string | null | undefined, url: string, params: TwilioParams = {}): boolean {
  if (!authToken || !signature) return false;
  let ok = false;
  for (const u of twilioUrlVariants(url)) if (safeEqual(twilioSignature(authToken, u, params), signature)) ok = true;
  return ok;
}

/** JSON-bodied webhooks: the signature covers the URL (with its bodySHA256 query param), which must match the body. */
export function validateTwilioSignatureWithBody(authToken: string, signature: string | null | undefined, url: string, body: Buffer | string): boolean {
  let claimed: string | null = null;
  try {
    claimed = new URL(url).searchParams.get('bodySHA256');
  } catch {
    return false;
  }
  if (!claimed) return false;
  const actual = createHash('sha256').update(body).digest('hex');
  return validateTwilioSignature(authToken, signature, url, {}) && safeEqual(actual, claimed.toLowerCase());
}

// ---------------------------------------------------------------- form bodies

/** Strict application/x-www-form-urlencoded: a bad %-escape or invalid UTF-8 is an error, not mojibake. */
export function parseForm(raw: string): TwilioParams {
  const out: TwilioParams = {};
  if (!raw) return out;
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      throw new SmsPayloadError(`malformed form encoding near "${part.slice(0, 40)}"`);
    }
    if (!name) throw new SmsPayloadError('a form field has no name');
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

const one = (p: TwilioParams, name: string): string | undefined => {
  const v = p[name];
  return Array.isArray(v) ? v[0] : v;
};

// ---------------------------------------------------------------- inbound

const FINAL_STATUS: Record<string, InboundStatusItem['status']> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  undelivered: 'failed',
  failed: 'failed',
  canceled: 'failed',
};
/** Interim states carry nothing a delivery row records. */
const INTERIM_STATUS = new Set(['queued', 'accepted', 'scheduled', 'sending', 'partially_delivered']);

/**
 * An inbound SMS (SmsStatus/MessageStatus `received`, with Body) → a message; a status callback
 * (MessageStatus) → a status item, or nothing for an interim state. `reference` comes back from
 * the `ref` query parameter we put on StatusCallback.
 */
export function parseTwilioWebhook(req: InboundRequest, params?: TwilioParams): InboundItem[] {
  const p = params ?? parseForm(req.rawBody.toString('utf8'));
  const sid = one(p, 'MessageSid') ?? one(p, 'SmsSid');
  if (!sid || !/^(SM|MM)[0-9a-fA-F]{32}$/.test(sid)) throw new SmsPayloadError('MessageSid must be a Twilio message SID (SM… or MM…, 34 characters)');
  const status = (one(p, 'MessageStatus') ?? one(p, 'SmsStatus') ?? '').toLowerCase();

  if (status === 'received' || status === 'receiving' || (!status && one(p, 'Body') !== undefined)) {
    const from = one(p, 'From');
    if (!from) throw new SmsPayloadError('From is required on an inbound message');
    const body = one(p, 'Body');
    if (body === undefined) throw new SmsPayloadError('Body is required on an inbound message');
    const phone = toE164(from.replace(/^[a-z]+:/i, ''), 'US');
    const toPhone = one(p, 'To') ? toE164(one(p, 'To')!.replace(/^[a-z]+:/i, ''), 'US') : null;
    const numMedia = Number(one(p, 'NumMedia') ?? '0');
    const attachments: NonNullable<InboundMessageItem['attachments']> = [];
    for (let i = 0; Number.isInteger(numMedia) && i < Math.min(numMedia, 10); i++) {
      const type = one(p, `MediaContentType${i}`);
      // the media URL needs our credentials to fetch and the item shape has no place for it: type only
      if (type) attachments.push({ contentType: type, size: 0 });
    }
    const item: InboundMessageItem = {
      type: 'message',
      channel: 'sms',
      provider: 'twilio',
      providerMessageId: sid,
      dedupKey: `twilio:${sid}`,
      from: phone ? { phone } : {},
      text: body,
      sentAt: null,
    };
    if (toPhone) item.to = { phone: toPhone };
    if (attachments.length) item.attachments = attachments;
    return [item];
  }
  if (!status) throw new SmsPayloadError('neither an inbound message (Body, SmsStatus=received) nor a status callback (MessageStatus)');
  if (INTERIM_STATUS.has(status)) return [];
  const mapped = FINAL_STATUS[status];
  if (!mapped) throw new SmsPayloadError(`unknown MessageStatus "${status}"`);
  let reference: string | undefined;
  try {
    reference = new URL(req.url).searchParams.get('ref') ?? undefined;
  } catch {
    reference = undefined;
  }
  const errorCode = one(p, 'ErrorCode') || null;
  return [
    {
      type: 'status',
      channel: 'sms',
      provider: 'twilio',
      providerRef: sid,
      ...(reference ? { reference } : {}),
      status: mapped,
      code: errorCode,
      description: one(p, 'ErrorMessage') || (errorCode ? `Twilio error ${errorCode}` : status),
      at: null,
      dedupKey: `twilio:status:${sid}:${status}`,
    },
  ];
}

// ---------------------------------------------------------------- outbound

/**
 * Twilio error codes that a retry can fix. Others (21211 invalid To, 21610 unsubscribed
 * recipient, 21614 not a mobile, 21408 region not enabled, 20003 authentication …) are permanent.
 * HTTP 429 and 5xx are transient whatever the code.
 */
const TRANSIENT_CODES = new Set([20429, 20500, 20503, 30001]);

export interface TwilioAdapterOptions {
  /** the StatusCallback URL for a delivery (null = no status callbacks) */
  statusCallback?: ((reference: string) => string) | null;
  timeoutMs?: number;
}

interface TwilioMessageResource {
  sid?: string;
  status?: string;
  error_code?: number | null;
  error_message?: string | null;
}

export class TwilioSmsAdapter implements ChannelAdapter<OutboundSms> {
  readonly channel = 'sms' as const;
  readonly provider = 'twilio';

  constructor(
    private readonly cfg: TwilioSmsConfig,
    private readonly opts: TwilioAdapterOptions = {},
  ) {}

  async send(m: OutboundSms): Promise<SendResult> {
    checkOutbound(m, { template: false });
    if (m.text.length > 1600) throw new ProviderError('Twilio bodies are at most 1600 characters', 'missing_params', true);
    const form = new URLSearchParams({ To: m.to, Body: m.text });
    if (this.cfg.from.startsWith('MG')) form.set('MessagingServiceSid', this.cfg.from);
    else form.set('From', this.cfg.from);
    if (this.opts.statusCallback) form.set('StatusCallback', this.opts.statusCallback(m.reference));
    const url = `${this.cfg.apiBase}/2010-04-01/Accounts/${encodeURIComponent(this.cfg.accountSid)}/Messages.json`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${this.cfg.accountSid}:${this.cfg.authToken}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
      text = await res.text();
    } catch (err) {
      throw networkError(err, 'twilio');
    }
    let json: Record<string, unknown> = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = {};
    }
    if (!res.ok) {
      const code = typeof json.code === 'number' ? json.code : null;
      const transient = res.status >= 500 || res.status === 429 || (code !== null && TRANSIENT_CODES.has(code));
      const message = typeof json.message === 'string' ? json.message : `HTTP ${res.status}`;
      throw new ProviderError(`twilio: ${message}`, code !== null ? String(code) : `http_${res.status}`, !transient);
    }
    const msg = json as TwilioMessageResource;
    if (!msg.sid) throw new ProviderError('twilio: the answer has no message sid', 'bad_response', false);
    if (msg.status === 'failed' || msg.status === 'undelivered') {
      const code = msg.error_code ? String(msg.error_code) : 'failed';
      throw new ProviderError(`twilio: ${msg.error_message ?? 'message failed'}`, code, !(msg.error_code && TRANSIENT_CODES.has(msg.error_code)));
    }
    return { providerRef: msg.sid, status: 'sent' };
  }
}

// ---------------------------------------------------------------- the provider module

/** Where Twilio posts inbound SMS and status callbacks; `ref` (our delivery id) comes back in the URL it signs. */
export const TWILIO_WEBHOOK_PATH = '/webhooks/sms/twilio';

export function twilioStatusCallbackUrl(publicBaseUrl: string, reference: string): string {
  return `${publicBaseUrl}${TWILIO_WEBHOOK_PATH}?ref=${encodeURIComponent(reference)}`;
}

/** What Twilio expects back: an empty TwiML answer (no reply message). */
export const TWILIO_ACK = '<Response/>';

const REQUIRED = ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM'];

export const twilioSms = defineSmsProvider({
  id: 'twilio',
  label: 'Twilio',
  env: {
    TWILIO_ACCOUNT_SID: 'AC… (32 hex digits after AC)',
    TWILIO_AUTH_TOKEN: 'primary auth token: sends, and verifies X-Twilio-Signature on /webhooks/sms/twilio (alone it turns that webhook on)',
    TWILIO_FROM: 'E.164 sender number or Messaging Service SID (MG…)',
    TWILIO_API_BASE: 'origin, default https://api.twilio.com',
  },
  capabilities: { freeText: true, needsSignName: false },
  loadConfig(env, problems) {
    const accountSid = readVar(env, 'TWILIO_ACCOUNT_SID');
    if (accountSid !== undefined && !/^AC[0-9a-fA-F]{32}$/.test(accountSid)) problems.push('TWILIO_ACCOUNT_SID: must be AC followed by 32 hex digits');
    const from = readVar(env, 'TWILIO_FROM');
    if (from !== undefined && !/^(\+[1-9]\d{6,14}|MG[0-9a-fA-F]{32})$/.test(from)) {
      problems.push('TWILIO_FROM: must be an E.164 number such as +14155550100 or a Messaging Service SID (MG…)');
    }
    const apiBase = httpUrlVar(env, 'TWILIO_API_BASE', problems, 'https://api.twilio.com', true)!;
    // verifies X-Twilio-Signature on the webhook; null = that webhook off
    const twilioAuthToken = readVar(env, 'TWILIO_AUTH_TOKEN') ?? null;
    const missing = missingVars(env, REQUIRED);
    const twilio: TwilioSmsConfig | null = missing.length ? null : { accountSid: accountSid!, authToken: twilioAuthToken!, from: from!, apiBase };
    return {
      config: { twilio, twilioAuthToken },
      missing,
      notices: (shared, requested) => {
        if (!twilioAuthToken) return requested ? ['Twilio SMS webhook is off: TWILIO_AUTH_TOKEN is not set'] : [];
        if (!shared.publicBaseUrl) {
          return ['SMS_PUBLIC_BASE_URL / PUBLIC_BASE_URL is not set: Twilio signatures are checked against the URL the request arrived at, and sends carry no StatusCallback'];
        }
        return [];
      },
    };
  },
  createAdapter: (cfg) => {
    const base = cfg.publicBaseUrl;
    return cfg.twilio
      ? new TwilioSmsAdapter(cfg.twilio, { timeoutMs: cfg.sendTimeoutMs, statusCallback: base ? (ref) => twilioStatusCallbackUrl(base, ref) : null })
      : null;
  },
  webhooks: [
    {
      // inbound SMS and status callbacks, form-encoded, signed with X-Twilio-Signature
      path: TWILIO_WEBHOOK_PATH,
      auth: {
        kind: 'signed',
        precheck: (headers, cfg) => {
          if (!cfg.twilioAuthToken) return { kind: 'not_found', code: 'channel_off', message: 'not found' };
          // Twilio's newer "Webhook Rules" signing (HMAC-SHA256) is not supported: refuse rather than half-check
          if (headerValue({ headers }, 'x-twilio-webhooks-signature-settings')) {
            return { kind: 'forbidden', code: 'unsupported_signature', message: 'this signature scheme is not supported; use the X-Twilio-Signature scheme' };
          }
          if (!headerValue({ headers }, 'x-twilio-signature')) return { kind: 'forbidden', code: 'missing_signature', message: 'X-Twilio-Signature is required' };
          return null;
        },
      },
      contentType: 'application/x-www-form-urlencoded',
      receive: (req, cfg) => {
        const params = parseForm(req.rawBody.toString('utf8'));
        // req.url is the URL Twilio called: the configured public origin, or else the request's own
        if (!validateTwilioSignature(cfg.twilioAuthToken ?? '', headerValue(req, 'x-twilio-signature'), req.url, params)) {
          return { refused: { kind: 'forbidden', code: 'bad_signature', message: 'X-Twilio-Signature does not match' } };
        }
        return { items: parseTwilioWebhook(req, params) };
      },
      ack: { type: 'text/xml', body: TWILIO_ACK },
    },
  ],
});
