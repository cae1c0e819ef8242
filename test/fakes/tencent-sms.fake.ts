// A local stand-in for sms.tencentcloudapi.com (API 3.0, version 2021-01-11) that answers the
// official SDK's real requests as the documented API does: it checks the TC3-HMAC-SHA256
// signature (AuthFailure.* on a bad one), SendSms validates app id, sign, template and numbers,
// and answers `{"Response":{"SendStatusSet":[…],"RequestId"}}` with per-number codes
// (FailedOperation.PhoneNumberInBlacklist, InvalidParameterValue.IncorrectPhoneNumber, …) or
// `{"Response":{"Error":{"Code","Message"},"RequestId"}}` for request-level errors.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type http from 'node:http';
import { FakeServer, type FakeRequest } from './fake-server';

export interface TencentCall {
  action: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, any>;
  /** did the TC3 signature verify with the secret key we know for its SecretId */
  signatureValid: boolean;
}

export type TencentScripted =
  | { kind: 'error'; code: string; message: string }
  | { kind: 'status'; code: string; message: string }
  | { kind: 'http'; status: number; body?: string }
  | { kind: 'hang'; ms: number };

const sha256hex = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const hmac = (key: string | Buffer, s: string) => createHmac('sha256', key).update(s, 'utf8').digest();

/** TC3-HMAC-SHA256 as documented (https://cloud.tencent.com/document/api/382/52071): recomputed from the request. */
function verifyTc3(headers: http.IncomingHttpHeaders, body: Buffer, method: string, secrets: Map<string, string>): 'ok' | 'unknown_id' | 'bad_signature' | 'missing' {
  const auth = String(headers.authorization ?? '');
  const m = /^TC3-HMAC-SHA256 Credential=([^/]+)\/(\d{4}-\d{2}-\d{2})\/([^/]+)\/tc3_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'missing';
  const [, secretId, date, service, signedHeaders, signature] = m;
  const secretKey = secrets.get(secretId);
  if (!secretKey) return 'unknown_id';
  const timestamp = String(headers['x-tc-timestamp'] ?? '');
  // the SDK signs the host name without the port (the real endpoint has none): so do we
  const value = (h: string) => (h === 'host' ? String(headers.host ?? '').replace(/:\d+$/, '') : String(headers[h] ?? '')).trim().toLowerCase();
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((h) => `${h}:${value(h)}\n`)
    .join('');
  const canonicalRequest = [method, '/', '', canonicalHeaders, signedHeaders, sha256hex(body)].join('\n');
  const stringToSign = ['TC3-HMAC-SHA256', timestamp, `${date}/${service}/tc3_request`, sha256hex(canonicalRequest)].join('\n');
  const kDate = hmac(`TC3${secretKey}`, date);
  const kService = hmac(kDate, service);
  const kSigning = hmac(kService, 'tc3_request');
  const expected = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
  return expected === signature ? 'ok' : 'bad_signature';
}

const DEFAULT_SIGN = '咖啡小店';
const CN_MOBILE = /^\+861[3-9]\d{9}$/;
const INTL = /^\+[1-9]\d{6,14}$/;

/** The Tencent SMS API on 127.0.0.1 (start it with `startFakeTencentSms`). */
export class FakeTencentSms extends FakeServer<TencentScripted> {
  readonly secretId: string;
  readonly secretKey: string;
  readonly sdkAppId: string;
  /** approved templates: id → number of {n} parameters */
  readonly templates = new Map<string, number>([
    ['1110001', 2],
    ['1110002', 0],
  ]);
  /** approved signs; env() names the first */
  readonly signs = new Set([DEFAULT_SIGN]);
  /** numbers (E.164) that complained/unsubscribed at the carrier */
  readonly blacklist = new Set<string>();
  readonly calls: TencentCall[] = [];
  /** SerialNo handed out per number, newest last */
  readonly sent: { serialNo: string; phone: string; sessionContext: string; templateId: string; params: string[]; sign: string }[] = [];
  private serial = 0;

  constructor(opts: { secretId?: string; secretKey?: string; sdkAppId?: string } = {}) {
    super();
    this.secretId = opts.secretId ?? 'AKIDfake0000000000000000000000000001';
    this.secretKey = opts.secretKey ?? 'fake-tencent-secret-key-000000001';
    this.sdkAppId = opts.sdkAppId ?? '1400006666';
  }

  /** http://127.0.0.1:port — what TENCENT_SMS_ENDPOINT names */
  get endpoint(): string {
    return this.base;
  }

  /** Touchpoint sending SMS through this fake: provider, sign, credentials, app id and endpoint. */
  env(): Record<string, string> {
    return {
      SMS_PROVIDER: 'tencent',
      SMS_SIGN_NAME: [...this.signs][0] ?? DEFAULT_SIGN,
      TENCENT_SMS_SECRET_ID: this.secretId,
      TENCENT_SMS_SECRET_KEY: this.secretKey,
      TENCENT_SMS_SDK_APP_ID: this.sdkAppId,
      TENCENT_SMS_ENDPOINT: this.endpoint,
    };
  }

  /** answer the next `n` SendSms calls this way instead */
  failNext(script: TencentScripted, n = 1): void {
    this.enqueue(script, n);
  }

  protected async handle(req: FakeRequest, res: http.ServerResponse): Promise<void> {
    const raw = req.body;
    const requestId = randomUUID();
    const answer = (response: Record<string, unknown>) => this.sendJson(res, 200, { Response: { ...response, RequestId: requestId } });
    const error = (code: string, message: string) => answer({ Error: { Code: code, Message: message } });
    let body: Record<string, any> = {};
    try {
      body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
    } catch {
      return error('FailedOperation.JsonParseFail', 'the request body is not JSON');
    }
    const action = String(req.headers['x-tc-action'] ?? '');
    const sig = verifyTc3(req.headers, raw, req.method || 'POST', new Map([[this.secretId, this.secretKey]]));
    this.calls.push({ action, headers: req.headers, body, signatureValid: sig === 'ok' });

    if (req.method !== 'POST' || req.url !== '/') return this.send(res, 404, 'text/plain', '');
    if (sig === 'missing') return error('AuthFailure.SignatureFailure', 'The provided credentials could not be validated. Please check your signature is correct.');
    if (sig === 'unknown_id') return error('AuthFailure.SecretIdNotFound', 'The SecretId is not found, please ensure that your SecretId is correct.');
    if (sig === 'bad_signature') return error('AuthFailure.SignatureFailure', 'The provided credentials could not be validated. Please check your signature is correct.');
    if (req.headers['x-tc-version'] !== '2021-01-11') return error('InvalidParameter', 'unsupported version');
    if (action !== 'SendSms') return error('InvalidAction', `The action ${action} is not supported here.`);

    const s = this.nextScript();
    if (s?.kind === 'hang') {
      await this.delay(s.ms);
      return error('InternalError.Timeout', 'timed out');
    }
    if (s?.kind === 'http') return this.send(res, s.status, 'text/html', s.body ?? `<html><body>${s.status}</body></html>`);
    if (s?.kind === 'error') return error(s.code, s.message);

    const phones: unknown = body.PhoneNumberSet;
    if (!Array.isArray(phones) || !phones.length) return error('MissingParameter', 'The request is missing a required parameter `PhoneNumberSet`.');
    if (phones.length > 200) return error('LimitExceeded.PhoneNumberCountLimit', 'at most 200 numbers per request');
    if (!body.SmsSdkAppId) return error('MissingParameter', 'The request is missing a required parameter `SmsSdkAppId`.');
    if (body.SmsSdkAppId !== this.sdkAppId) return error('UnauthorizedOperation.SmsSdkAppIdVerifyFail', 'SmsSdkAppId verify fail.');
    if (!body.TemplateId) return error('MissingParameter', 'The request is missing a required parameter `TemplateId`.');
    const params: string[] = Array.isArray(body.TemplateParamSet) ? body.TemplateParamSet : [];
    const templateParams = this.templates.get(String(body.TemplateId));

    const statusFor = (phone: string): { Code: string; Message: string } => {
      if (s?.kind === 'status') return { Code: s.code, Message: s.message };
      const normalized = /^1\d{10}$/.test(phone) ? `+86${phone}` : phone;
      if (!CN_MOBILE.test(normalized) && !(INTL.test(normalized) && !normalized.startsWith('+86'))) return { Code: 'InvalidParameterValue.IncorrectPhoneNumber', Message: 'incorrect phone number' };
      if (normalized.startsWith('+86') && !this.signs.has(String(body.SignName ?? ''))) return { Code: 'FailedOperation.SignatureIncorrectOrUnapproved', Message: 'signature format is incorrect or signature is not approved' };
      if (templateParams === undefined) return { Code: 'FailedOperation.TemplateIncorrectOrUnapproved', Message: 'template is incorrect or not approved' };
      if (templateParams !== params.length) return { Code: 'FailedOperation.TemplateParamSetNotMatchApprovedTemplate', Message: 'the number of template parameters does not match the approved template' };
      if (this.blacklist.has(normalized)) return { Code: 'FailedOperation.PhoneNumberInBlacklist', Message: 'the phone number is in the blocklist (the user unsubscribed or complained)' };
      return { Code: 'Ok', Message: 'send success' };
    };

    const SendStatusSet = (phones as string[]).map((phone) => {
      const st = statusFor(String(phone));
      const normalized = /^1\d{10}$/.test(phone) ? `+86${phone}` : phone;
      const serialNo = st.Code === 'Ok' ? `2433:${String(++this.serial).padStart(10, '0')}${Date.now() % 1e9}` : '';
      if (serialNo) this.sent.push({ serialNo, phone: normalized, sessionContext: String(body.SessionContext ?? ''), templateId: String(body.TemplateId), params, sign: String(body.SignName ?? '') });
      return { SerialNo: serialNo, PhoneNumber: normalized, Fee: st.Code === 'Ok' ? 1 : 0, SessionContext: String(body.SessionContext ?? ''), Code: st.Code, Message: st.Message, IsoCode: normalized.startsWith('+86') ? 'CN' : 'US' };
    });
    answer({ SendStatusSet });
  }
}

export function startFakeTencentSms(opts: { secretId?: string; secretKey?: string; sdkAppId?: string } = {}): Promise<FakeTencentSms> {
  return new FakeTencentSms(opts).listen();
}
