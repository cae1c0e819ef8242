// Aliyun SMS (Dysmsapi 2017-05-25) through the official SDK: SendSms with our delivery id in
// OutId; the SmsUp (replies) and SmsReport (delivery reports) HTTP batch pushes parsed into inbound
// items. Neither push is signed (the handler's path token protects them) and Aliyun documents
// its receipts as not idempotent: the same push can arrive twice, so keys are stable per message.
import Dysmsapi, { SendSmsRequest } from '@alicloud/dysmsapi20170525';
import { Config } from '@alicloud/openapi-client';
import { ProviderError, type ChannelAdapter, type InboundItem, type InboundMessageItem, type InboundRequest, type InboundStatusItem, type OutboundSms, type SendResult } from '../channel';
import { httpUrlVar, missingVars, readVar } from '../env';
import { beijingTimeToIso, checkOutbound, networkError, SmsPayloadError } from './common';
import { toE164 } from './phone';
import { defineSmsProvider } from './provider';

export interface AliyunSmsConfig {
  accessKeyId: string;
  accessKeySecret: string;
  endpoint: string;
  /** template code → its variable names, in the order of our positional params */
  templateParams: Record<string, string[]>;
}

/**
 * Aliyun codes (https://help.aliyun.com/document_detail/101346.html) a retry can fix: system
 * errors, flow control (per number / per day), balance, throttling. Invalid numbers, sign and
 * template problems, parameters and credentials are permanent.
 */
const TRANSIENT = [
  /^isp\.SYSTEM_ERROR$/,
  /^isv\.SYSTEM_ERROR$/,
  /LIMIT_CONTROL$/,
  /^isv\.AMOUNT_NOT_ENOUGH$/,
  /^isv\.OUT_OF_SERVICE$/,
  /^Throttling/,
  /^ServiceUnavailable/,
  /^InternalError/,
  /^SignatureNonceUsed$/,
];
export const isTransientAliyunCode = (code: string) => TRANSIENT.some((r) => r.test(code));

export interface AliyunAdapterOptions {
  signName?: string | null;
  timeoutMs?: number;
}

/** Aliyun wants mainland numbers bare (13800138000) and others with their country code, no "+". */
export function aliyunPhoneNumber(e164: string): string {
  return e164.startsWith('+86') ? e164.slice(3) : e164.slice(1);
}

export class AliyunSmsAdapter implements ChannelAdapter<OutboundSms> {
  readonly channel = 'sms' as const;
  readonly provider = 'aliyun';
  private readonly client: Dysmsapi;

  constructor(
    private readonly cfg: AliyunSmsConfig,
    private readonly opts: AliyunAdapterOptions = {},
  ) {
    const endpoint = new URL(cfg.endpoint);
    const timeout = opts.timeoutMs ?? 10_000;
    const config = new Config({
      accessKeyId: cfg.accessKeyId,
      accessKeySecret: cfg.accessKeySecret,
      endpoint: endpoint.host,
      protocol: endpoint.protocol.replace(':', ''),
      readTimeout: timeout,
      connectTimeout: Math.min(timeout, 5000),
    });
    // the SDK's Config type comes from @alicloud/openapi-core; openapi-client's has the same fields
    this.client = new Dysmsapi(config as unknown as ConstructorParameters<typeof Dysmsapi>[0]);
  }

  /** Our params are positional; Aliyun templates name theirs (${name}): map by the configured names. */
  private templateParam(m: OutboundSms): string | undefined {
    if (!m.params.length) return undefined;
    const names = this.cfg.templateParams[m.templateId];
    if (!names) {
      throw new ProviderError(`no variable names for Aliyun template ${m.templateId}: add it to ALIYUN_SMS_TEMPLATE_PARAMS (e.g. ${m.templateId}:name,days)`, 'missing_params', true);
    }
    if (names.length !== m.params.length) {
      throw new ProviderError(`Aliyun template ${m.templateId} takes ${names.length} parameters (${names.join(', ')}), got ${m.params.length}`, 'missing_params', true);
    }
    return JSON.stringify(Object.fromEntries(names.map((n, i) => [n, m.params[i]])));
  }

  async send(m: OutboundSms): Promise<SendResult> {
    const { signName } = checkOutbound(m, { template: true, signName: this.opts.signName });
    const templateParam = this.templateParam(m);
    let body;
    try {
      const res = await this.client.sendSms(
        new SendSmsRequest({ phoneNumbers: aliyunPhoneNumber(m.to), signName, templateCode: m.templateId, templateParam, outId: m.reference }),
      );
      body = res.body;
    } catch (err) {
      throw aliyunError(err);
    }
    if (!body) throw new ProviderError('aliyun: empty answer', 'bad_response', false);
    if (body.code !== 'OK') {
      const code = body.code || 'error';
      throw new ProviderError(`aliyun: ${body.message || code}`, code, !isTransientAliyunCode(code));
    }
    return { providerRef: body.bizId || null, status: 'sent' };
  }
}

/** SDK errors: an HTTP 4xx/5xx answer carries `statusCode` and the API `code`; anything else is the network. */
function aliyunError(err: unknown): ProviderError {
  const e = err as { name?: string; code?: string; statusCode?: number; message?: string; data?: { Message?: string } };
  if (typeof e?.statusCode === 'number') {
    const code = e.code && e.code !== 'undefined' ? e.code : `http_${e.statusCode}`;
    const transient = isTransientAliyunCode(code) || e.statusCode >= 500 || e.statusCode === 429 || e.name === 'ThrottlingError';
    return new ProviderError(`aliyun: ${e.data?.Message ?? e.message ?? code}`, code, !transient);
  }
  return networkError(err, 'aliyun');
}

// ---------------------------------------------------------------- inbound

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);

/**
 * Big numeric ids would lose digits in JSON.parse: quote sequence_id (older pushes send a number,
 * newer a string) before parsing, so both forms give the same key.
 */
function parseJsonKeepingIds(raw: string): unknown {
  return JSON.parse(raw.replace(/("sequence_id"\s*:\s*)(-?\d+)(?=\s*[,}])/g, '$1"$2"'));
}

function phoneOf(o: Obj, where: string): { raw: string; e164: string | null } {
  const raw = str(o.phone_number)?.trim();
  if (!raw || !/^\+?\d{5,20}$/.test(raw)) throw new SmsPayloadError(`${where}: phone_number must be a phone number`);
  return { raw, e164: toE164(raw) };
}

function parseUp(o: Obj, where: string): InboundMessageItem {
  const phone = phoneOf(o, where);
  const seq = str(o.sequence_id)?.trim();
  if (!seq || !/^[A-Za-z0-9_-]{1,64}$/.test(seq)) throw new SmsPayloadError(`${where}: sequence_id must be a string or number`);
  if (typeof o.content !== 'string') throw new SmsPayloadError(`${where}: content must be a string`);
  const sign = str(o.sign_name);
  const dest = str(o.dest_code);
  const to: InboundMessageItem['to'] = {};
  if (sign) to.signName = sign;
  if (dest) to.extendCode = dest;
  return {
    type: 'message',
    channel: 'sms',
    provider: 'aliyun',
    providerMessageId: seq,
    dedupKey: `aliyun:${seq}:${phone.e164 ?? phone.raw}`,
    from: phone.e164 ? { phone: phone.e164 } : {},
    ...(sign || dest ? { to } : {}),
    text: o.content,
    sentAt: beijingTimeToIso(o.send_time),
  };
}

function parseReport(o: Obj, where: string): InboundStatusItem {
  const phone = phoneOf(o, where);
  const bizId = str(o.biz_id)?.trim();
  if (!bizId) throw new SmsPayloadError(`${where}: biz_id must be a string`);
  const success = o.success === true || o.success === 'true' ? true : o.success === false || o.success === 'false' ? false : null;
  if (success === null) throw new SmsPayloadError(`${where}: success must be true or false`);
  const outId = str(o.out_id)?.trim();
  const code = str(o.err_code) ?? null;
  return {
    type: 'status',
    channel: 'sms',
    provider: 'aliyun',
    providerRef: bizId,
    ...(outId ? { reference: outId } : {}),
    status: success ? 'delivered' : 'failed',
    code,
    description: str(o.err_msg) ?? null,
    at: beijingTimeToIso(o.report_time),
    dedupKey: `aliyun:status:${bizId}:${phone.e164 ?? phone.raw}:${success ? 'ok' : `fail:${code ?? ''}`}`,
  };
}

/** SmsUp and SmsReport both push a JSON array; each element is told apart by its fields. */
export function parseAliyunPush(req: InboundRequest): InboundItem[] {
  let body: unknown;
  try {
    body = parseJsonKeepingIds(req.rawBody.toString('utf8'));
  } catch {
    throw new SmsPayloadError('the body is not valid JSON');
  }
  if (!Array.isArray(body)) throw new SmsPayloadError('the body must be a JSON array (SmsUp or SmsReport batch)');
  if (!body.length) throw new SmsPayloadError('the body is an empty array');
  if (body.length > 1000) throw new SmsPayloadError('more than 1000 items in one request');
  return body.map((el, i) => {
    const where = `item ${i}`;
    if (!isObj(el)) throw new SmsPayloadError(`${where}: must be a JSON object`);
    if ('biz_id' in el || 'success' in el || 'report_time' in el) return parseReport(el, where);
    if ('content' in el || 'sequence_id' in el) return parseUp(el, where);
    throw new SmsPayloadError(`${where}: neither an uplink message (phone_number, content, sequence_id) nor a delivery report (phone_number, success, biz_id)`);
  });
}

// ---------------------------------------------------------------- the provider module

/** What Aliyun expects back from the push URL once the batch is taken. */
export const ALIYUN_ACK = { code: 0, msg: '接收成功' };

const REQUIRED = ['ALIYUN_SMS_ACCESS_KEY_ID', 'ALIYUN_SMS_ACCESS_KEY_SECRET'];

/** `SMS_123:name,days;SMS_456:code` → { SMS_123: ['name', 'days'], SMS_456: ['code'] } */
function parseTemplateParams(raw: string | undefined, problems: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!raw) return out;
  for (const part of raw.split(';').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_]+)\s*:\s*([A-Za-z0-9_]+(?:\s*,\s*[A-Za-z0-9_]+)*)$/.exec(part);
    if (!m) {
      problems.push(`ALIYUN_SMS_TEMPLATE_PARAMS: "${part}" is not TEMPLATE_CODE:var1,var2 (entries separated by ;)`);
      continue;
    }
    out[m[1]] = m[2].split(',').map((s) => s.trim());
  }
  return out;
}

export const aliyunSms = defineSmsProvider({
  id: 'aliyun',
  label: 'Aliyun',
  env: {
    ALIYUN_SMS_ACCESS_KEY_ID: 'RAM user AccessKey ID with SMS permission',
    ALIYUN_SMS_ACCESS_KEY_SECRET: 'its AccessKey secret',
    ALIYUN_SMS_ENDPOINT: 'origin, default https://dysmsapi.aliyuncs.com',
    ALIYUN_SMS_TEMPLATE_PARAMS: 'variable names per template, e.g. `SMS_123:name,days;SMS_456:code` (our params are positional; Aliyun templates name theirs: ${name})',
  },
  capabilities: { freeText: false, needsSignName: true },
  loadConfig(env, problems) {
    const endpoint = httpUrlVar(env, 'ALIYUN_SMS_ENDPOINT', problems, 'https://dysmsapi.aliyuncs.com', true)!;
    const templateParams = parseTemplateParams(readVar(env, 'ALIYUN_SMS_TEMPLATE_PARAMS'), problems);
    const missing = missingVars(env, REQUIRED);
    const aliyun: AliyunSmsConfig | null = missing.length
      ? null
      : { accessKeyId: readVar(env, 'ALIYUN_SMS_ACCESS_KEY_ID')!, accessKeySecret: readVar(env, 'ALIYUN_SMS_ACCESS_KEY_SECRET')!, endpoint, templateParams };
    return { config: { aliyun }, missing };
  },
  createAdapter: (cfg) => (cfg.aliyun ? new AliyunSmsAdapter(cfg.aliyun, { signName: cfg.signName, timeoutMs: cfg.sendTimeoutMs }) : null),
  webhooks: [
    {
      // SmsUp (replies) and SmsReport (delivery reports) HTTP batch pushes
      path: '/webhooks/sms/aliyun/:token',
      auth: { kind: 'path-token' },
      receive: (req) => ({ items: parseAliyunPush(req) }),
      ack: { body: ALIYUN_ACK },
    },
  ],
});
