// SMS settings. A provider whose settings are missing is off (and says so at start, in `notices`):
// it is never constructed half-configured, so nothing is ever half-sent. Invalid values go into
// `problems`, each naming its variable.
//
// SMS_PROVIDER                 tencent | aliyun | twilio | none (default none) — who sends outbound SMS
// SMS_WEBHOOK_TOKEN            ≥ 24 URL-safe chars: the secret path segment of the unsigned Tencent/Aliyun webhooks
// SMS_SIGN_NAME                the approved 签名 used when a message does not name one (required for tencent/aliyun)
// SMS_PUBLIC_BASE_URL          public origin Twilio calls (falls back to PUBLIC_BASE_URL, then to the request's own origin)
// SMS_SEND_TIMEOUT_MS          per-request timeout towards the provider (default 10000)
// TENCENT_SMS_SECRET_ID / TENCENT_SMS_SECRET_KEY / TENCENT_SMS_SDK_APP_ID (digits)
// TENCENT_SMS_REGION           default ap-guangzhou
// TENCENT_SMS_ENDPOINT         default https://sms.tencentcloudapi.com (tests: http://127.0.0.1:<port>)
// ALIYUN_SMS_ACCESS_KEY_ID / ALIYUN_SMS_ACCESS_KEY_SECRET
// ALIYUN_SMS_ENDPOINT          default https://dysmsapi.aliyuncs.com
// ALIYUN_SMS_TEMPLATE_PARAMS   variable names per template, e.g. `SMS_123:name,days;SMS_456:code`
//                              (our params are positional; Aliyun templates name theirs: ${name})
// TWILIO_ACCOUNT_SID (AC…) / TWILIO_AUTH_TOKEN / TWILIO_FROM (E.164 number or MG… messaging service)
// TWILIO_API_BASE              default https://api.twilio.com
// TWILIO_AUTH_TOKEN alone turns on the signed Twilio webhook.

/** Every variable this file reads (PUBLIC_BASE_URL belongs to the general settings); .env.example documents each. */
export const SMS_ENV_VARS = [
  'SMS_PROVIDER',
  'SMS_WEBHOOK_TOKEN',
  'SMS_SIGN_NAME',
  'SMS_PUBLIC_BASE_URL',
  'SMS_SEND_TIMEOUT_MS',
  'TENCENT_SMS_SECRET_ID',
  'TENCENT_SMS_SECRET_KEY',
  'TENCENT_SMS_SDK_APP_ID',
  'TENCENT_SMS_REGION',
  'TENCENT_SMS_ENDPOINT',
  'ALIYUN_SMS_ACCESS_KEY_ID',
  'ALIYUN_SMS_ACCESS_KEY_SECRET',
  'ALIYUN_SMS_ENDPOINT',
  'ALIYUN_SMS_TEMPLATE_PARAMS',
  'TWILIO_ACCOUNT_SID',
  'TWILIO_AUTH_TOKEN',
  'TWILIO_FROM',
  'TWILIO_API_BASE',
] as const;

export type SmsProvider = 'tencent' | 'aliyun' | 'twilio' | 'none';
export const SMS_PROVIDERS: SmsProvider[] = ['tencent', 'aliyun', 'twilio', 'none'];

export interface TencentSmsConfig {
  secretId: string;
  secretKey: string;
  sdkAppId: string;
  region: string;
  /** https://sms.tencentcloudapi.com or a local fake's http://127.0.0.1:port */
  endpoint: string;
}

export interface AliyunSmsConfig {
  accessKeyId: string;
  accessKeySecret: string;
  endpoint: string;
  /** template code → its variable names, in the order of our positional params */
  templateParams: Record<string, string[]>;
}

export interface TwilioSmsConfig {
  accountSid: string;
  authToken: string;
  /** E.164 sender number, or a Messaging Service SID (MG…) */
  from: string;
  apiBase: string;
}

export interface SmsConfig {
  /** the provider outbound SMS goes through; 'none' = SMS sending off (also when its settings are incomplete) */
  provider: SmsProvider;
  /** path token protecting the unsigned Tencent/Aliyun webhooks; null = those webhooks off */
  webhookToken: string | null;
  /** default 签名 for messages that do not carry one */
  signName: string | null;
  /** public origin (no trailing slash) used to rebuild the URL Twilio signed and for StatusCallback */
  publicBaseUrl: string | null;
  sendTimeoutMs: number;
  /** each provider's settings when complete, whichever one is selected (null = incomplete or absent) */
  tencent: TencentSmsConfig | null;
  aliyun: AliyunSmsConfig | null;
  twilio: TwilioSmsConfig | null;
  /** verifies X-Twilio-Signature on /webhooks/sms/twilio; null = that webhook off */
  twilioAuthToken: string | null;
}

type Env = Record<string, string | undefined>;

const get = (env: Env, name: string): string | undefined => {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
};

/** An http(s) URL without trailing slash; `originOnly` refuses a path (API endpoints). */
function url(env: Env, name: string, problems: string[], def?: string, originOnly = false): string | undefined {
  const v = get(env, name);
  if (v === undefined) return def;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    problems.push(`${name}: must be an http(s) URL such as ${def ?? 'https://example.com'}`);
    return def;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    problems.push(`${name}: must use http or https`);
    return def;
  }
  if (u.search || u.hash || u.username) {
    problems.push(`${name}: must not carry a query, fragment or credentials`);
    return def;
  }
  if (originOnly && u.pathname !== '/') {
    problems.push(`${name}: must be an origin without a path, such as ${def ?? 'https://example.com'}`);
    return def;
  }
  return v.replace(/\/+$/, '');
}

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

export function loadSmsConfig(env: Env, problems: string[], notices: string[]): SmsConfig {
  const rawProvider = (get(env, 'SMS_PROVIDER') ?? 'none').toLowerCase();
  let requested: SmsProvider = 'none';
  if ((SMS_PROVIDERS as string[]).includes(rawProvider)) requested = rawProvider as SmsProvider;
  else problems.push(`SMS_PROVIDER: must be one of ${SMS_PROVIDERS.join(', ')} (got "${rawProvider}")`);

  const webhookToken = get(env, 'SMS_WEBHOOK_TOKEN') ?? null;
  if (webhookToken !== null) {
    if (webhookToken.length < 24) problems.push('SMS_WEBHOOK_TOKEN: must be at least 24 characters (it is the only protection of the Tencent/Aliyun webhooks)');
    else if (!/^[A-Za-z0-9._~-]+$/.test(webhookToken)) problems.push('SMS_WEBHOOK_TOKEN: use only letters, digits and . _ ~ - (it is a URL path segment)');
  }
  const signName = get(env, 'SMS_SIGN_NAME') ?? null;
  if (signName !== null && (signName.length > 40 || /[【】[\]]/.test(signName))) problems.push('SMS_SIGN_NAME: the approved sign name itself, without 【】, at most 40 characters');
  // PUBLIC_BASE_URL belongs to the general/email settings (validated there): used here only when valid
  const publicBaseUrl = url(env, 'SMS_PUBLIC_BASE_URL', problems) ?? url(env, 'PUBLIC_BASE_URL', []) ?? null;

  let sendTimeoutMs = 10_000;
  const rawTimeout = get(env, 'SMS_SEND_TIMEOUT_MS');
  if (rawTimeout !== undefined) {
    if (/^\d+$/.test(rawTimeout) && Number(rawTimeout) >= 100 && Number(rawTimeout) <= 120_000) sendTimeoutMs = Number(rawTimeout);
    else problems.push('SMS_SEND_TIMEOUT_MS: must be a whole number of milliseconds between 100 and 120000');
  }

  /** the names among `names` that are not set */
  const missing = (names: string[]) => names.filter((n) => get(env, n) === undefined);

  // Tencent
  const tencentNames = ['TENCENT_SMS_SECRET_ID', 'TENCENT_SMS_SECRET_KEY', 'TENCENT_SMS_SDK_APP_ID'];
  const sdkAppId = get(env, 'TENCENT_SMS_SDK_APP_ID');
  if (sdkAppId !== undefined && !/^\d{5,20}$/.test(sdkAppId)) problems.push('TENCENT_SMS_SDK_APP_ID: must be the numeric SmsSdkAppId, e.g. 1400006666');
  const region = get(env, 'TENCENT_SMS_REGION') ?? 'ap-guangzhou';
  if (!/^[a-z]{2,4}-[a-z]+(-\d+)?$/.test(region)) problems.push('TENCENT_SMS_REGION: must be a region such as ap-guangzhou');
  const tencentEndpoint = url(env, 'TENCENT_SMS_ENDPOINT', problems, 'https://sms.tencentcloudapi.com', true)!;
  const tencentMissing = missing(tencentNames);
  const tencent: TencentSmsConfig | null = tencentMissing.length
    ? null
    : { secretId: get(env, 'TENCENT_SMS_SECRET_ID')!, secretKey: get(env, 'TENCENT_SMS_SECRET_KEY')!, sdkAppId: sdkAppId!, region, endpoint: tencentEndpoint };

  // Aliyun
  const aliyunNames = ['ALIYUN_SMS_ACCESS_KEY_ID', 'ALIYUN_SMS_ACCESS_KEY_SECRET'];
  const aliyunEndpoint = url(env, 'ALIYUN_SMS_ENDPOINT', problems, 'https://dysmsapi.aliyuncs.com', true)!;
  const templateParams = parseTemplateParams(get(env, 'ALIYUN_SMS_TEMPLATE_PARAMS'), problems);
  const aliyunMissing = missing(aliyunNames);
  const aliyun: AliyunSmsConfig | null = aliyunMissing.length
    ? null
    : { accessKeyId: get(env, 'ALIYUN_SMS_ACCESS_KEY_ID')!, accessKeySecret: get(env, 'ALIYUN_SMS_ACCESS_KEY_SECRET')!, endpoint: aliyunEndpoint, templateParams };

  // Twilio
  const twilioNames = ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM'];
  const accountSid = get(env, 'TWILIO_ACCOUNT_SID');
  if (accountSid !== undefined && !/^AC[0-9a-fA-F]{32}$/.test(accountSid)) problems.push('TWILIO_ACCOUNT_SID: must be AC followed by 32 hex digits');
  const twilioFrom = get(env, 'TWILIO_FROM');
  if (twilioFrom !== undefined && !/^(\+[1-9]\d{6,14}|MG[0-9a-fA-F]{32})$/.test(twilioFrom)) {
    problems.push('TWILIO_FROM: must be an E.164 number such as +14155550100 or a Messaging Service SID (MG…)');
  }
  const twilioApiBase = url(env, 'TWILIO_API_BASE', problems, 'https://api.twilio.com', true)!;
  const twilioAuthToken = get(env, 'TWILIO_AUTH_TOKEN') ?? null;
  const twilioMissing = missing(twilioNames);
  const twilio: TwilioSmsConfig | null = twilioMissing.length ? null : { accountSid: accountSid!, authToken: twilioAuthToken!, from: twilioFrom!, apiBase: twilioApiBase };

  // the selected provider is on only when complete
  let provider = requested;
  const off = (why: string) => {
    notices.push(`SMS sending is off: SMS_PROVIDER=${requested} but ${why}`);
    provider = 'none';
  };
  if (requested === 'tencent') {
    const m = [...tencentMissing, ...(signName ? [] : ['SMS_SIGN_NAME'])];
    if (m.length) off(`${m.join(', ')} ${m.length > 1 ? 'are' : 'is'} not set`);
  } else if (requested === 'aliyun') {
    const m = [...aliyunMissing, ...(signName ? [] : ['SMS_SIGN_NAME'])];
    if (m.length) off(`${m.join(', ')} ${m.length > 1 ? 'are' : 'is'} not set`);
  } else if (requested === 'twilio') {
    if (twilioMissing.length) off(`${twilioMissing.join(', ')} ${twilioMissing.length > 1 ? 'are' : 'is'} not set`);
  } else {
    notices.push('SMS sending is off: SMS_PROVIDER is not set (tencent, aliyun or twilio)');
  }

  if (!webhookToken) notices.push('Tencent/Aliyun SMS webhooks are off: SMS_WEBHOOK_TOKEN is not set, so replies and delivery reports from them are refused');
  if (!twilioAuthToken) {
    if (requested === 'twilio') notices.push('Twilio SMS webhook is off: TWILIO_AUTH_TOKEN is not set');
  } else if (!publicBaseUrl) {
    notices.push('SMS_PUBLIC_BASE_URL / PUBLIC_BASE_URL is not set: Twilio signatures are checked against the URL the request arrived at, and sends carry no StatusCallback');
  }

  return { provider, webhookToken, signName, publicBaseUrl, sendTimeoutMs, tencent, aliyun, twilio, twilioAuthToken };
}
