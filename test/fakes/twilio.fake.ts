// A local stand-in for api.twilio.com: POST /2010-04-01/Accounts/{AccountSid}/Messages.json with
// HTTP Basic auth (AccountSid:AuthToken), answering the documented Message resource (201) or
// Twilio's error body `{code, message, more_info, status}` (20003 bad credentials, 21211 invalid
// To, 21610 unsubscribed recipient, 21602 missing Body, 21603 missing From …). Like Twilio it can
// then POST a signed status callback to the StatusCallback URL it was given.
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parsePhoneNumberFromString } from 'libphonenumber-js';

export interface TwilioCall {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  form: Record<string, string>;
  authorized: boolean;
}

export interface TwilioSent {
  sid: string;
  to: string;
  from: string;
  body: string;
  statusCallback: string | null;
}

export type TwilioScripted = { kind: 'http'; status: number; code: number; message: string } | { kind: 'hang'; ms: number };

export interface FakeTwilio {
  /** http://127.0.0.1:port — give it to TWILIO_API_BASE */
  base: string;
  accountSid: string;
  authToken: string;
  /** numbers that texted STOP: sending to them is error 21610 */
  unsubscribed: Set<string>;
  calls: TwilioCall[];
  sent: TwilioSent[];
  failNext(script: TwilioScripted, n?: number): void;
  /** what Twilio would POST to the StatusCallback for `sid`, signed with the auth token */
  statusCallback(sid: string, status: string, extra?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

/** Twilio's documented request signing (independent of the code under test). */
export function signTwilioRequest(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, k) => acc + k + params[k], url);
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

export const twilioSid = (prefix: string) => prefix + randomBytes(16).toString('hex');

export async function startFakeTwilio(opts: { accountSid?: string; authToken?: string } = {}): Promise<FakeTwilio> {
  const scripted: { script: TwilioScripted; n: number }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const fake: FakeTwilio = {
    base: '',
    accountSid: opts.accountSid ?? 'AC' + 'f'.repeat(32),
    authToken: opts.authToken ?? 'fake-twilio-auth-token-0001',
    unsubscribed: new Set(),
    calls: [],
    sent: [],
    failNext(script, n = 1) {
      scripted.push({ script, n });
    },
    async statusCallback(sid, status, extra = {}) {
      const msg = fake.sent.find((s) => s.sid === sid);
      if (!msg?.statusCallback) throw new Error(`no StatusCallback recorded for ${sid}`);
      const params: Record<string, string> = {
        AccountSid: fake.accountSid,
        ApiVersion: '2010-04-01',
        From: msg.from,
        MessageSid: sid,
        MessageStatus: status,
        SmsSid: sid,
        SmsStatus: status,
        To: msg.to,
        ...extra,
      };
      return fetch(msg.statusCallback, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signTwilioRequest(fake.authToken, msg.statusCallback, params), 'i-twilio-idempotency-token': randomBytes(8).toString('hex') },
        body: new URLSearchParams(params).toString(),
      });
    },
    close: () =>
      new Promise((r) => {
        for (const t of timers) clearTimeout(t);
        server.close(() => r());
        server.closeAllConnections();
      }),
  };

  const error = (res: http.ServerResponse, status: number, code: number, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
  };

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const expectedAuth = `Basic ${Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString('base64')}`;
    const authorized = req.headers.authorization === expectedAuth;
    fake.calls.push({ method: req.method ?? '', path, headers: req.headers, form, authorized });

    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
    if (!m || req.method !== 'POST') return error(res, 404, 20404, 'The requested resource was not found');
    if (!authorized || m[1] !== fake.accountSid) return error(res, 401, 20003, 'Authenticate');

    const next = scripted[0];
    if (next) {
      if (--next.n <= 0) scripted.shift();
      const s = next.script;
      if (s.kind === 'hang') {
        await new Promise((r) => timers.add(setTimeout(r, s.ms)));
        return error(res, 503, 20503, 'Service Unavailable');
      }
      return error(res, s.status, s.code, s.message);
    }

    if (!form.To) return error(res, 400, 21604, "A 'To' phone number is required.");
    if (!form.From && !form.MessagingServiceSid) return error(res, 400, 21603, "A 'From' phone number is required.");
    if (!form.Body) return error(res, 400, 21602, 'Message body is required.');
    if (form.Body.length > 1600) return error(res, 400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    if (!parsePhoneNumberFromString(form.To)?.isValid()) return error(res, 400, 21211, `The 'To' number ${form.To} is not a valid phone number.`);
    if (fake.unsubscribed.has(form.To)) return error(res, 400, 21610, 'Attempt to send to unsubscribed recipient');

    const sid = twilioSid('SM');
    fake.sent.push({ sid, to: form.To, from: form.From ?? '', body: form.Body, statusCallback: form.StatusCallback ?? null });
    const now = new Date().toUTCString();
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        account_sid: fake.accountSid,
        api_version: '2010-04-01',
        body: form.Body,
        date_created: now,
        date_sent: null,
        date_updated: now,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: form.From ?? null,
        messaging_service_sid: form.MessagingServiceSid ?? null,
        num_media: '0',
        num_segments: String(Math.ceil(form.Body.length / 153) || 1),
        price: null,
        price_unit: 'USD',
        sid,
        status: 'queued',
        subresource_uris: { media: `/2010-04-01/Accounts/${fake.accountSid}/Messages/${sid}/Media.json` },
        to: form.To,
        uri: `/2010-04-01/Accounts/${fake.accountSid}/Messages/${sid}.json`,
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
