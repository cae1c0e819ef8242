// A local stand-in for api.twilio.com: POST /2010-04-01/Accounts/{AccountSid}/Messages.json with
// HTTP Basic auth (AccountSid:AuthToken), answering the documented Message resource (201) or
// Twilio's error body `{code, message, more_info, status}` (20003 bad credentials, 21211 invalid
// To, 21610 unsubscribed recipient, 21602 missing Body, 21603 missing From …). Like Twilio it can
// then POST a signed status callback to the StatusCallback URL it was given.
import { createHmac, randomBytes } from 'node:crypto';
import type http from 'node:http';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { FakeServer, type FakeRequest } from './fake-server';

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

/** Twilio's documented request signing (independent of the code under test). */
export function signTwilioRequest(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, k) => acc + k + params[k], url);
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

export const twilioSid = (prefix: string) => prefix + randomBytes(16).toString('hex');

/** The Twilio Messages API on 127.0.0.1 (start it with `startFakeTwilio`). */
export class FakeTwilio extends FakeServer<TwilioScripted> {
  readonly accountSid: string;
  readonly authToken: string;
  /** the sender number env() gives Touchpoint (TWILIO_FROM) */
  readonly from: string;
  /** numbers that texted STOP: sending to them is error 21610 */
  readonly unsubscribed = new Set<string>();
  readonly calls: TwilioCall[] = [];
  readonly sent: TwilioSent[] = [];

  constructor(opts: { accountSid?: string; authToken?: string; from?: string } = {}) {
    super();
    this.accountSid = opts.accountSid ?? 'AC' + 'f'.repeat(32);
    this.authToken = opts.authToken ?? 'fake-twilio-auth-token-0001';
    this.from = opts.from ?? '+14155550100';
  }

  /** Touchpoint sending SMS through this fake: provider, account, token, sender and API base. */
  env(): Record<string, string> {
    return { SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: this.accountSid, TWILIO_AUTH_TOKEN: this.authToken, TWILIO_FROM: this.from, TWILIO_API_BASE: this.base };
  }

  /** answer the next `n` Messages calls this way instead */
  failNext(script: TwilioScripted, n = 1): void {
    this.enqueue(script, n);
  }

  /** what Twilio would POST to the StatusCallback for `sid`, signed with the auth token */
  async statusCallback(sid: string, status: string, extra: Record<string, string> = {}): Promise<Response> {
    const msg = this.sent.find((s) => s.sid === sid);
    if (!msg?.statusCallback) throw new Error(`no StatusCallback recorded for ${sid}`);
    const params: Record<string, string> = {
      AccountSid: this.accountSid,
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
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signTwilioRequest(this.authToken, msg.statusCallback, params), 'i-twilio-idempotency-token': randomBytes(8).toString('hex') },
      body: new URLSearchParams(params).toString(),
    });
  }

  protected async handle(req: FakeRequest, res: http.ServerResponse): Promise<void> {
    const error = (status: number, code: number, message: string) => this.sendJson(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
    const form = Object.fromEntries(new URLSearchParams(req.body.toString('utf8')));
    const path = req.path;
    const expectedAuth = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
    const authorized = req.headers.authorization === expectedAuth;
    this.calls.push({ method: req.method, path, headers: req.headers, form, authorized });

    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(path);
    if (!m || req.method !== 'POST') return error(404, 20404, 'The requested resource was not found');
    if (!authorized || m[1] !== this.accountSid) return error(401, 20003, 'Authenticate');

    const s = this.nextScript();
    if (s?.kind === 'hang') {
      await this.delay(s.ms);
      return error(503, 20503, 'Service Unavailable');
    }
    if (s?.kind === 'http') return error(s.status, s.code, s.message);

    if (!form.To) return error(400, 21604, "A 'To' phone number is required.");
    if (!form.From && !form.MessagingServiceSid) return error(400, 21603, "A 'From' phone number is required.");
    if (!form.Body) return error(400, 21602, 'Message body is required.');
    if (form.Body.length > 1600) return error(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    if (!parsePhoneNumberFromString(form.To)?.isValid()) return error(400, 21211, `The 'To' number ${form.To} is not a valid phone number.`);
    if (this.unsubscribed.has(form.To)) return error(400, 21610, 'Attempt to send to unsubscribed recipient');

    const sid = twilioSid('SM');
    this.sent.push({ sid, to: form.To, from: form.From ?? '', body: form.Body, statusCallback: form.StatusCallback ?? null });
    const now = new Date().toUTCString();
    this.sendJson(res, 201, {
      account_sid: this.accountSid,
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
      subresource_uris: { media: `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}/Media.json` },
      to: form.To,
      uri: `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}.json`,
    });
  }
}

export function startFakeTwilio(opts: { accountSid?: string; authToken?: string; from?: string } = {}): Promise<FakeTwilio> {
  return new FakeTwilio(opts).listen();
}
