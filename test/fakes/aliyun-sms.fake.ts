// A local stand-in for dysmsapi.aliyuncs.com (RPC API 2017-05-25) that answers the official SDK's
// real requests as the documented API does: it checks the ACS3-HMAC-SHA256 signature
// (InvalidAccessKeyId.NotFound → HTTP 404, SignatureDoesNotMatch → HTTP 400), SendSms validates
// numbers, sign, template and TemplateParam and answers HTTP 200 `{"Code":"OK","Message":"OK",
// "BizId","RequestId"}` or a business code (isv.MOBILE_NUMBER_ILLEGAL, isv.BUSINESS_LIMIT_CONTROL …).
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type http from 'node:http';
import { FakeServer, type FakeRequest } from './fake-server';

export interface AliyunCall {
  action: string;
  headers: http.IncomingHttpHeaders;
  /** the API parameters (the SDK sends them in the query string) */
  params: Record<string, string>;
  signatureValid: boolean;
}

export type AliyunScripted =
  | { kind: 'code'; code: string; message: string }
  | { kind: 'http'; status: number; code: string; message: string }
  | { kind: 'hang'; ms: number };

/** RFC 3986 percent-encoding as Aliyun's signature uses it. */
const pct = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256hex = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** ACS3-HMAC-SHA256 (https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature), recomputed from the request. */
function verifyAcs3(req: FakeRequest, body: Buffer, secrets: Map<string, string>): 'ok' | 'unknown_id' | 'bad_signature' | 'missing' {
  const auth = String(req.headers.authorization ?? '');
  const m = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'missing';
  const [, keyId, signedHeaders, signature] = m;
  const secret = secrets.get(keyId);
  if (!secret) return 'unknown_id';
  const url = new URL(req.url, 'http://x');
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [pct(k), pct(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((h) => `${h}:${String(req.headers[h] ?? '').trim()}\n`)
    .join('');
  const hashedPayload = sha256hex(body);
  if (req.headers['x-acs-content-sha256'] !== hashedPayload) return 'bad_signature';
  const canonicalRequest = [req.method, url.pathname || '/', query, canonicalHeaders, signedHeaders, hashedPayload].join('\n');
  const stringToSign = `ACS3-HMAC-SHA256\n${sha256hex(canonicalRequest)}`;
  const expected = createHmac('sha256', secret).update(stringToSign, 'utf8').digest('hex');
  return expected === signature ? 'ok' : 'bad_signature';
}

/** Mainland numbers: bare 11 digits, 86…, +86…, 0086…; others: country code + number. */
function mobileOk(n: string): boolean {
  const d = n.replace(/^(\+|00)/, '');
  if (/^1\d{10}$/.test(d)) return /^1[3-9]\d{9}$/.test(d);
  if (/^86/.test(d)) return /^861[3-9]\d{9}$/.test(d);
  return /^[1-9]\d{7,14}$/.test(d);
}

const DEFAULT_SIGN = '咖啡小店';

/** The Aliyun SMS API on 127.0.0.1 (start it with `startFakeAliyunSms`). */
export class FakeAliyunSms extends FakeServer<AliyunScripted> {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** approved signs; env() names the first */
  readonly signs = new Set([DEFAULT_SIGN]);
  /** approved templates: code → variable names */
  readonly templates = new Map<string, string[]>([
    ['SMS_100001', ['name', 'days']],
    ['SMS_100002', []],
  ]);
  /** flow control: sends per number before isv.BUSINESS_LIMIT_CONTROL */
  perNumberLimit = 50;
  readonly calls: AliyunCall[] = [];
  readonly sent: { bizId: string; phone: string; outId: string; templateCode: string; templateParam: Record<string, string>; sign: string }[] = [];
  private readonly perNumber = new Map<string, number>();
  private biz = 0;

  constructor(opts: { accessKeyId?: string; accessKeySecret?: string } = {}) {
    super();
    this.accessKeyId = opts.accessKeyId ?? 'LTAIfake00000000000001';
    this.accessKeySecret = opts.accessKeySecret ?? 'fake-aliyun-secret-0000000000001';
  }

  /** http://127.0.0.1:port — what ALIYUN_SMS_ENDPOINT names */
  get endpoint(): string {
    return this.base;
  }

  /** Touchpoint sending SMS through this fake: provider, sign, keys, endpoint and the variable names of the templates that have any. */
  env(): Record<string, string> {
    return {
      SMS_PROVIDER: 'aliyun',
      SMS_SIGN_NAME: [...this.signs][0] ?? DEFAULT_SIGN,
      ALIYUN_SMS_ACCESS_KEY_ID: this.accessKeyId,
      ALIYUN_SMS_ACCESS_KEY_SECRET: this.accessKeySecret,
      ALIYUN_SMS_ENDPOINT: this.endpoint,
      ALIYUN_SMS_TEMPLATE_PARAMS: [...this.templates]
        .filter(([, vars]) => vars.length)
        .map(([code, vars]) => `${code}:${vars.join(',')}`)
        .join(';'),
    };
  }

  /** answer the next `n` SendSms calls this way instead */
  failNext(script: AliyunScripted, n = 1): void {
    this.enqueue(script, n);
  }

  protected async handle(req: FakeRequest, res: http.ServerResponse): Promise<void> {
    const raw = req.body;
    const requestId = randomUUID().toUpperCase();
    const reply = (status: number, body: Record<string, unknown>) => this.sendJson(res, status, { RequestId: requestId, ...body }, 'application/json;charset=utf-8');
    const params: Record<string, string> = { ...req.query };
    // form-bodied calls (other SDK versions) carry the parameters in the body
    if (raw.length && String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded')) Object.assign(params, Object.fromEntries(new URLSearchParams(raw.toString('utf8'))));
    const action = String(req.headers['x-acs-action'] ?? params.Action ?? '');
    const sig = verifyAcs3(req, raw, new Map([[this.accessKeyId, this.accessKeySecret]]));
    this.calls.push({ action, headers: req.headers, params, signatureValid: sig === 'ok' });

    if (sig === 'missing') return reply(400, { Code: 'MissingAuthorization', Message: 'Authorization is mandatory for this action.' });
    if (sig === 'unknown_id') return reply(404, { Code: 'InvalidAccessKeyId.NotFound', Message: 'Specified access key is not found.', HostId: 'dysmsapi.aliyuncs.com' });
    if (sig === 'bad_signature') return reply(400, { Code: 'SignatureDoesNotMatch', Message: 'Specified signature is not matched with our calculation.', HostId: 'dysmsapi.aliyuncs.com' });
    if (req.headers['x-acs-version'] !== '2017-05-25') return reply(400, { Code: 'InvalidVersion', Message: 'Specified parameter Version is not valid.' });
    if (action !== 'SendSms') return reply(404, { Code: 'InvalidAction.NotFound', Message: `Specified api is not found, please check your url and method.` });

    const s = this.nextScript();
    if (s?.kind === 'hang') {
      await this.delay(s.ms);
      return reply(200, { Code: 'isp.SYSTEM_ERROR', Message: 'too late' });
    }
    if (s?.kind === 'http') return reply(s.status, { Code: s.code, Message: s.message, HostId: 'dysmsapi.aliyuncs.com' });
    if (s?.kind === 'code') return reply(200, { Code: s.code, Message: s.message });

    if (!params.PhoneNumbers) return reply(400, { Code: 'MissingPhoneNumbers', Message: 'PhoneNumbers is mandatory for this action.' });
    if (!params.SignName) return reply(400, { Code: 'MissingSignName', Message: 'SignName is mandatory for this action.' });
    if (!params.TemplateCode) return reply(400, { Code: 'MissingTemplateCode', Message: 'TemplateCode is mandatory for this action.' });
    const numbers = params.PhoneNumbers.split(',');
    if (numbers.length > 1000) return reply(200, { Code: 'isv.MOBILE_COUNT_OVER_LIMIT', Message: '手机号码数量超过限制' });
    if (!numbers.every(mobileOk)) return reply(200, { Code: 'isv.MOBILE_NUMBER_ILLEGAL', Message: '非法手机号' });
    if (!this.signs.has(params.SignName)) return reply(200, { Code: 'isv.SMS_SIGNATURE_ILLEGAL', Message: '该账号下找不到对应签名' });
    const vars = this.templates.get(params.TemplateCode);
    if (!vars) return reply(200, { Code: 'isv.SMS_TEMPLATE_ILLEGAL', Message: '该账号下找不到对应模板' });
    let templateParam: Record<string, string> = {};
    if (params.TemplateParam) {
      try {
        templateParam = JSON.parse(params.TemplateParam);
      } catch {
        return reply(200, { Code: 'isv.INVALID_JSON_PARAM', Message: 'JSON参数不合法，只接受字符串值' });
      }
    }
    if (!vars.every((v) => typeof templateParam[v] === 'string')) return reply(200, { Code: 'isv.TEMPLATE_MISSING_PARAMETERS', Message: '模板缺少变量' });
    for (const n of numbers) {
      const count = (this.perNumber.get(n) ?? 0) + 1;
      if (count > this.perNumberLimit) return reply(200, { Code: 'isv.BUSINESS_LIMIT_CONTROL', Message: '触发号码天级流控Permits:' + this.perNumberLimit });
      this.perNumber.set(n, count);
    }
    const bizId = `${900000 + ++this.biz}${String(Date.now()).slice(-9)}^0`;
    for (const n of numbers) this.sent.push({ bizId, phone: n, outId: params.OutId ?? '', templateCode: params.TemplateCode, templateParam, sign: params.SignName });
    reply(200, { Code: 'OK', Message: 'OK', BizId: bizId });
  }
}

export function startFakeAliyunSms(opts: { accessKeyId?: string; accessKeySecret?: string } = {}): Promise<FakeAliyunSms> {
  return new FakeAliyunSms(opts).listen();
}
