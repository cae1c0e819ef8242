// Tencent Cloud SMS (API 2021-01-11) through the official SDK: SendSms with our delivery id in
// SessionContext; the reply callback (one JSON object per reply) and the delivery-status callback
// (a JSON array of reports) parsed into inbound items. Tencent signs neither callback: the
// handler's path token is their only protection.
import { sms } from 'tencentcloud-sdk-nodejs-sms';
import { ProviderError, type ChannelAdapter, type InboundItem, type InboundMessageItem, type InboundRequest, type InboundStatusItem, type OutboundSms, type SendResult } from '../channel';
import { httpUrlVar, missingVars, readVar } from '../env';
import { beijingTimeToIso, checkOutbound, networkError, sha256Hex, SmsPayloadError, unixToBeijingIso } from './common';
import { joinNationCode } from './phone';
import { defineSmsProvider } from './provider';

export interface TencentSmsConfig {
  secretId: string;
  secretKey: string;
  sdkAppId: string;
  region: string;
  /** https://sms.tencentcloudapi.com or a local fake's http://127.0.0.1:port */
  endpoint: string;
}

type SmsClient = InstanceType<typeof sms.v20210111.Client>;

/**
 * Tencent error codes (https://cloud.tencent.com/document/api/382/55981#6.-.E9.94.99.E8.AF.AF.E7.A0.81)
 * that a retry can fix: provider-side failures, frequency limits, our balance, the marketing
 * night window. Everything else (number, template, sign, parameters, credentials) is permanent.
 */
const TRANSIENT = [
  /^InternalError/,
  /^LimitExceeded/,
  /^RequestLimitExceeded/,
  /^ResourceUnavailable/,
  /^ServiceUnavailable/,
  /^FailedOperation\.InsufficientBalanceInSmsPackage$/,
  /^FailedOperation\.MarketingSendTimeConstraint$/,
];
export const isTransientTencentCode = (code: string) => TRANSIENT.some((r) => r.test(code));

export interface TencentAdapterOptions {
  signName?: string | null;
  timeoutMs?: number;
}

export class TencentSmsAdapter implements ChannelAdapter<OutboundSms> {
  readonly channel = 'sms' as const;
  readonly provider = 'tencent';
  private readonly client: SmsClient;

  constructor(
    private readonly cfg: TencentSmsConfig,
    private readonly opts: TencentAdapterOptions = {},
  ) {
    const endpoint = new URL(cfg.endpoint);
    this.client = new sms.v20210111.Client({
      credential: { secretId: cfg.secretId, secretKey: cfg.secretKey },
      region: cfg.region,
      profile: {
        httpProfile: {
          endpoint: endpoint.host,
          protocol: `${endpoint.protocol}//`,
          reqMethod: 'POST',
          // the SDK counts seconds
          reqTimeout: Math.max(1, Math.ceil((opts.timeoutMs ?? 10_000) / 1000)),
        },
      },
    });
  }

  async send(m: OutboundSms): Promise<SendResult> {
    const { signName } = checkOutbound(m, { template: true, signName: this.opts.signName });
    if (!/^\d{1,20}$/.test(m.templateId)) throw new ProviderError(`Tencent template ids are numeric (got "${m.templateId}")`, 'missing_params', true);
    if (Buffer.byteLength(m.reference, 'utf8') >= 512) throw new ProviderError('SessionContext must be under 512 bytes', 'missing_params', true);
    let res: Awaited<ReturnType<SmsClient['SendSms']>>;
    try {
      res = await this.client.SendSms({
        PhoneNumberSet: [m.to],
        SmsSdkAppId: this.cfg.sdkAppId,
        TemplateId: m.templateId,
        SignName: signName,
        TemplateParamSet: m.params,
        SessionContext: m.reference,
      });
    } catch (err) {
      throw tencentError(err);
    }
    const status = res.SendStatusSet?.[0];
    if (!status) throw new ProviderError(`tencent: no SendStatusSet in the answer (RequestId ${res.RequestId ?? '?'})`, 'bad_response', false);
    if (status.Code !== 'Ok') {
      throw new ProviderError(`tencent: ${status.Message || status.Code}`, status.Code || 'error', !isTransientTencentCode(status.Code || ''));
    }
    return { providerRef: status.SerialNo || null, status: 'sent' };
  }
}

/** SDK exceptions: `code` from a `Response.Error`, `httpCode` for a non-200, neither for a network failure. */
function tencentError(err: unknown): ProviderError {
  const e = err as { code?: string; httpCode?: number; message?: string; requestId?: string };
  if (e?.code) return new ProviderError(`tencent: ${e.message ?? e.code}`, e.code, !isTransientTencentCode(e.code));
  if (e?.httpCode) {
    const transient = e.httpCode >= 500 || e.httpCode === 429 || e.httpCode === 408;
    return new ProviderError(`tencent: HTTP ${e.httpCode} ${e.message ?? ''}`.trim(), `http_${e.httpCode}`, !transient);
  }
  return networkError(err, 'tencent');
}

// ---------------------------------------------------------------- inbound

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);

/** Replies dedupe on every identifying field: Tencent's push carries no message id. */
export function tencentReplyDedupKey(r: { nationcode: string; mobile: string; time: string; text: string; sign: string; extend: string }): string {
  return `tencent:${sha256Hex([r.nationcode, r.mobile, r.time, r.text, r.sign, r.extend].join('|'))}`;
}

function parseReply(o: Obj, where: string): InboundMessageItem {
  const mobile = str(o.mobile);
  const text = o.text;
  const time = str(o.time);
  if (!mobile || !/^\+?\d{5,20}$/.test(mobile.trim())) throw new SmsPayloadError(`${where}: mobile must be a phone number`);
  if (typeof text !== 'string') throw new SmsPayloadError(`${where}: text must be a string`);
  if (!time || !/^\d{9,11}$/.test(time)) throw new SmsPayloadError(`${where}: time must be unix seconds`);
  const nationcode = str(o.nationcode) ?? '86';
  const sign = str(o.sign) ?? '';
  const extend = str(o.extend) ?? '';
  const phone = joinNationCode(nationcode, mobile.trim());
  const to: InboundMessageItem['to'] = {};
  if (sign) to.signName = sign;
  if (extend) to.extendCode = extend;
  return {
    type: 'message',
    channel: 'sms',
    provider: 'tencent',
    providerMessageId: null,
    dedupKey: tencentReplyDedupKey({ nationcode, mobile: mobile.trim(), time, text, sign, extend }),
    from: phone ? { phone } : {},
    ...(sign || extend ? { to } : {}),
    text,
    sentAt: unixToBeijingIso(Number(time)),
  };
}

function parseReport(o: Obj, where: string): InboundStatusItem {
  const sid = str(o.sid);
  const reportStatus = str(o.report_status)?.toUpperCase();
  if (!sid) throw new SmsPayloadError(`${where}: sid must be a string`);
  if (reportStatus !== 'SUCCESS' && reportStatus !== 'FAIL') throw new SmsPayloadError(`${where}: report_status must be SUCCESS or FAIL`);
  const errmsg = str(o.errmsg) ?? null;
  return {
    type: 'status',
    channel: 'sms',
    provider: 'tencent',
    providerRef: sid,
    status: reportStatus === 'SUCCESS' ? 'delivered' : 'failed',
    code: errmsg,
    description: str(o.description) ?? null,
    at: beijingTimeToIso(o.user_receive_time),
    dedupKey: `tencent:status:${sid}:${reportStatus}`,
  };
}

/**
 * One endpoint receives both callbacks: a reply is one object (an array of them is accepted),
 * a delivery report batch is an array; each element is classified by its fields.
 */
export function parseTencentCallback(req: InboundRequest): InboundItem[] {
  let body: unknown;
  try {
    body = JSON.parse(req.rawBody.toString('utf8'));
  } catch {
    throw new SmsPayloadError('the body is not valid JSON');
  }
  const list = Array.isArray(body) ? body : [body];
  if (!list.length) throw new SmsPayloadError('the body is an empty array');
  if (list.length > 1000) throw new SmsPayloadError('more than 1000 items in one request');
  return list.map((el, i) => {
    const where = Array.isArray(body) ? `item ${i}` : 'body';
    if (!isObj(el)) throw new SmsPayloadError(`${where}: must be a JSON object`);
    if ('report_status' in el || 'sid' in el) return parseReport(el, where);
    if ('text' in el || 'mobile' in el) return parseReply(el, where);
    throw new SmsPayloadError(`${where}: neither a reply (mobile, text, time) nor a delivery report (sid, report_status)`);
  });
}

// ---------------------------------------------------------------- the provider module

/** What Tencent expects back from the callback URL once the reports are taken. */
export const TENCENT_ACK = { result: 0, errmsg: 'OK' };

const REQUIRED = ['TENCENT_SMS_SECRET_ID', 'TENCENT_SMS_SECRET_KEY', 'TENCENT_SMS_SDK_APP_ID'];

export const tencentSms = defineSmsProvider({
  id: 'tencent',
  label: 'Tencent',
  env: {
    TENCENT_SMS_SECRET_ID: 'Tencent Cloud API SecretId',
    TENCENT_SMS_SECRET_KEY: 'Tencent Cloud API SecretKey',
    TENCENT_SMS_SDK_APP_ID: 'numeric SmsSdkAppId, e.g. 1400006666',
    TENCENT_SMS_REGION: 'region sent with SendSms, default ap-guangzhou',
    TENCENT_SMS_ENDPOINT: 'origin, default https://sms.tencentcloudapi.com (tests: http://127.0.0.1:<port>)',
  },
  capabilities: { freeText: false, needsSignName: true },
  loadConfig(env, problems) {
    const sdkAppId = readVar(env, 'TENCENT_SMS_SDK_APP_ID');
    if (sdkAppId !== undefined && !/^\d{5,20}$/.test(sdkAppId)) problems.push('TENCENT_SMS_SDK_APP_ID: must be the numeric SmsSdkAppId, e.g. 1400006666');
    const region = readVar(env, 'TENCENT_SMS_REGION') ?? 'ap-guangzhou';
    if (!/^[a-z]{2,4}-[a-z]+(-\d+)?$/.test(region)) problems.push('TENCENT_SMS_REGION: must be a region such as ap-guangzhou');
    const endpoint = httpUrlVar(env, 'TENCENT_SMS_ENDPOINT', problems, 'https://sms.tencentcloudapi.com', true)!;
    const missing = missingVars(env, REQUIRED);
    const tencent: TencentSmsConfig | null = missing.length
      ? null
      : { secretId: readVar(env, 'TENCENT_SMS_SECRET_ID')!, secretKey: readVar(env, 'TENCENT_SMS_SECRET_KEY')!, sdkAppId: sdkAppId!, region, endpoint };
    return { config: { tencent }, missing };
  },
  createAdapter: (cfg) => (cfg.tencent ? new TencentSmsAdapter(cfg.tencent, { signName: cfg.signName, timeoutMs: cfg.sendTimeoutMs }) : null),
  webhooks: [
    {
      // reply callback (one object) and status callback (array of reports) on one URL
      path: '/webhooks/sms/tencent/:token',
      auth: { kind: 'path-token' },
      receive: (req) => ({ items: parseTencentCallback(req) }),
      ack: { body: TENCENT_ACK },
    },
  ],
});
