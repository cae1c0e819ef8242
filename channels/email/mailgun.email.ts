// Mailgun Routes `forward()`: the parsed message as a form (urlencoded, or multipart when it has
// attachments), or the raw message in `body-mime` when the route URL ends in "mime".
// Signature: hex(HMAC-SHA256(signing key, timestamp + token)) in `signature`, compared in constant
// time; a timestamp further than `maxAgeSeconds` from now is refused (a captured request cannot be
// replayed later). The caller also binds each token to the mail it carried (the signature covers
// timestamp and token only, not the body): the module declares it `singleUse`, and
// handlers/email-webhooks.handler.ts keeps the first mail seen with each token.
// Why 401 and not 406 for a bad signature: 406 tells Mailgun to drop the message for good.
// A forger does not care which code it gets, but a genuine post failing our check (a rotated or
// mistyped MAILGUN_SIGNING_KEY) should stay in Mailgun's retry schedule (8 h) while the key is fixed.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { InboundRequest } from '../channel';
import { readVar } from '../env';
import { fieldText, parseForm, type ParsedForm } from './form';
import { buildEmailItem, MimeError, parseHeaderList, parseRawEmail, sha256Hex, type InboundEmailItem } from './mime';
import { defineEmailInboundProvider, EMAIL_ACK } from './provider';

export type MailgunRejection = 'missing_signature' | 'bad_signature' | 'stale_timestamp';

/** The request is not from Mailgun as far as we can tell: answered 401 with the reason as its code. */
export class SignatureError extends Error {
  readonly kind = 'unauthorized';
  readonly code: MailgunRejection;

  constructor(
    readonly reason: MailgunRejection,
    message: string,
  ) {
    super(message);
    this.code = reason;
    this.name = 'SignatureError';
  }
}

export function mailgunSignature(signingKey: string, timestamp: string, token: string): string {
  return createHmac('sha256', signingKey).update(timestamp + token).digest('hex');
}

/** Constant-time check of a Mailgun signature (hex, any case). */
export function mailgunSignatureValid(signingKey: string, timestamp: string, token: string, signature: string): boolean {
  const expected = Buffer.from(mailgunSignature(signingKey, timestamp, token), 'hex');
  const wellFormed = /^[0-9a-fA-F]{64}$/.test(signature);
  // compare even when the format is wrong, so a malformed signature costs the same time
  const equal = timingSafeEqual(expected, wellFormed ? Buffer.from(signature, 'hex') : Buffer.alloc(expected.length));
  return wellFormed && equal;
}

export interface MailgunOptions {
  signingKey: string;
  maxAgeSeconds: number;
  now: Date;
}

/** Throws SignatureError unless the form carries a valid, fresh Mailgun signature; returns its token. */
export function verifyMailgunForm(form: ParsedForm, opts: MailgunOptions): { token: string; timestamp: number } {
  const timestamp = fieldText(form, 'timestamp').trim();
  const token = fieldText(form, 'token').trim();
  const signature = fieldText(form, 'signature').trim();
  if (!timestamp || !token || !signature) throw new SignatureError('missing_signature', 'timestamp, token and signature are required');
  if (!/^\d{1,12}$/.test(timestamp) || token.length > 256) throw new SignatureError('bad_signature', 'timestamp or token is malformed');
  if (!mailgunSignatureValid(opts.signingKey, timestamp, token, signature)) throw new SignatureError('bad_signature', 'signature does not match');
  // checked after the signature, so the answer says nothing about timestamps to a forger
  if (Math.abs(opts.now.getTime() / 1000 - Number(timestamp)) > opts.maxAgeSeconds) {
    throw new SignatureError('stale_timestamp', `timestamp is more than ${opts.maxAgeSeconds}s away from now`);
  }
  return { token, timestamp: Number(timestamp) };
}

/** Mailgun's `message-headers`: a JSON list of [name, value] pairs. */
function headerPairs(form: ParsedForm): [string, string][] {
  const raw = fieldText(form, 'message-headers');
  let pairs: [string, string][] = [];
  if (raw) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new MimeError('message-headers is not JSON');
    }
    if (!Array.isArray(parsed)) throw new MimeError('message-headers is not a list of [name, value] pairs');
    pairs = parsed
      .filter((p): p is [unknown, unknown] => Array.isArray(p) && p.length >= 2)
      .map(([n, v]) => [String(n), typeof v === 'string' ? v : JSON.stringify(v)]);
  }
  const has = (name: string) => pairs.some(([n]) => n.toLowerCase() === name.toLowerCase());
  // without message-headers (or with a thin one) the top-level fields still name the basics
  for (const [header, field] of [['From', 'from'], ['Subject', 'subject'], ['To', 'To'], ['Message-Id', 'Message-Id'], ['In-Reply-To', 'In-Reply-To'], ['References', 'References'], ['Date', 'Date']] as const) {
    const v = fieldText(form, field) || (field === 'from' ? fieldText(form, 'sender') : field === 'To' ? fieldText(form, 'recipient') : '');
    if (v && !has(header)) pairs.push([header, v]);
  }
  return pairs;
}

/** The item from a verified Mailgun form: `body-mime` when present, else the parsed fields. */
export async function mailgunItem(form: ParsedForm): Promise<InboundEmailItem> {
  const mime = form.fields.get('body-mime');
  if (mime && mime.length) return parseRawEmail(mime, 'mailgun');

  const parsed = await parseHeaderList(headerPairs(form));
  const cidMap = new Map<string, string>();
  const cids = fieldText(form, 'content-id-map');
  if (cids) {
    try {
      for (const [cid, field] of Object.entries(JSON.parse(cids) as Record<string, unknown>)) if (typeof field === 'string') cidMap.set(field, cid);
    } catch {
      throw new MimeError('content-id-map is not JSON');
    }
  }
  const bodyPlain = fieldText(form, 'body-plain');
  const canonical = ['from', 'recipient', 'subject', 'Date', 'body-plain'].map((f) => fieldText(form, f)).join('\u0000');
  return buildEmailItem(parsed, {
    provider: 'mailgun',
    fullText: bodyPlain,
    strippedText: form.fields.has('stripped-text') ? fieldText(form, 'stripped-text') : null,
    html: fieldText(form, 'body-html') || null,
    attachments: form.files
      .filter((f) => /^attachment-\d+$/.test(f.field))
      .map((f) => ({ filename: f.filename, contentType: f.contentType, size: f.size, contentId: cidMap.get(f.field) })),
    fallbackDedupKey: `email:mailgun:${sha256Hex(canonical)}`,
  });
}

export interface MailgunInbound {
  item: InboundEmailItem;
  /** the signature token (single use: bound to this mail by the caller) */
  token: string;
}

/** Form → signature → item. Throws FormError (400), SignatureError (401) or MimeError (400). */
export async function parseMailgunRequest(req: InboundRequest, opts: MailgunOptions & { fieldSize: number }): Promise<MailgunInbound> {
  const contentType = Array.isArray(req.headers['content-type']) ? req.headers['content-type'][0] : req.headers['content-type'];
  const form = await parseForm(contentType, req.rawBody, { fieldSize: opts.fieldSize, keepFiles: ['body-mime'] });
  const { token } = verifyMailgunForm(form, opts);
  return { item: await mailgunItem(form), token };
}

// ---------------------------------------------------------------- the provider module

export interface MailgunSettings {
  /** Mailgun HTTP webhook signing key; null = /webhooks/email/mailgun off */
  mailgunSigningKey: string | null;
  /** a Mailgun signature older (or further in the future) than this is refused */
  mailgunMaxAgeSeconds: number;
}

export const mailgunEmail = defineEmailInboundProvider({
  id: 'mailgun',
  label: 'Mailgun',
  env: {
    MAILGUN_SIGNING_KEY: 'the HTTP webhook signing key from the Mailgun console: turns on /webhooks/email/mailgun',
    MAILGUN_MAX_AGE_SECONDS: 'refuse posts whose signed timestamp is further than this from now (60–86400, default 900)',
  },
  loadConfig(env, problems, notices): MailgunSettings {
    const key = readVar(env, 'MAILGUN_SIGNING_KEY');
    let mailgunSigningKey: string | null = null;
    if (key) {
      if (key.length >= 16 && !/\s/.test(key)) mailgunSigningKey = key;
      else problems.push('MAILGUN_SIGNING_KEY: must be the HTTP webhook signing key from the Mailgun console (16+ characters, no spaces)');
    } else {
      notices.push('Mailgun inbound email is off: MAILGUN_SIGNING_KEY is not set');
    }
    let mailgunMaxAgeSeconds = 900;
    const maxAge = readVar(env, 'MAILGUN_MAX_AGE_SECONDS');
    if (maxAge) {
      if (/^\d{1,6}$/.test(maxAge) && Number(maxAge) >= 60 && Number(maxAge) <= 86_400) mailgunMaxAgeSeconds = Number(maxAge);
      else problems.push('MAILGUN_MAX_AGE_SECONDS: must be a whole number of seconds from 60 to 86400');
    }
    return { mailgunSigningKey, mailgunMaxAgeSeconds };
  },
  webhook: {
    // Mailgun Routes forward()
    path: '/webhooks/email/mailgun',
    auth: {
      kind: 'signed',
      precheck: (cfg) => (cfg.mailgunSigningKey ? null : { kind: 'not_found', code: 'channel_off', message: 'Mailgun inbound email is not configured on this server' }),
    },
    receive: async (req, cfg, opts) => {
      try {
        const { item, token } = await parseMailgunRequest(req, { signingKey: cfg.mailgunSigningKey!, maxAgeSeconds: cfg.mailgunMaxAgeSeconds, now: opts.now, fieldSize: opts.fieldSize });
        // Mailgun's retries resend the same signature block with the same mail and still pass
        return { item, singleUse: { token, ttlSeconds: cfg.mailgunMaxAgeSeconds * 2 + 60 } };
      } catch (err) {
        if (err instanceof SignatureError) return { refused: { kind: err.kind, code: err.code, message: err.message } };
        throw err;
      }
    },
    ack: { body: EMAIL_ACK },
  },
});
