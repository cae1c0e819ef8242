// SMS settings. A provider whose settings are missing is off (and says so at start, in `notices`):
// it is never constructed half-configured, so nothing is ever half-sent. Invalid values go into
// `problems`, each naming its variable.
//
// The variables every provider shares are read here:
// SMS_PROVIDER                 one of the registered providers, or none (default none) — who sends outbound SMS
// SMS_WEBHOOK_TOKEN            ≥ 24 URL-safe chars: the secret path segment of the unsigned (path-token) webhooks
// SMS_SIGN_NAME                the approved 签名 used when a message does not name one (required by providers that need one)
// SMS_PUBLIC_BASE_URL          public origin providers call (falls back to PUBLIC_BASE_URL, then to the request's own origin)
// SMS_SEND_TIMEOUT_MS          per-request timeout towards the provider (default 10000)
// Each provider's own variables, loader and checks are in its module (channels/sms/<id>.sms.ts, its
// `env` and `loadConfig`), and the modules are listed in SMS_PROVIDERS (channels/sms/index.ts).
import { SMS_PROVIDERS, type SmsConfig, type SmsProviderId } from '../channels/sms';
import type { SmsSharedConfig } from '../channels/sms/provider';
import { httpUrlVar, listing, readVar, type Env } from '../channels/env';

export type { SmsConfig };
export type SmsProvider = SmsProviderId | 'none';

const SHARED_ENV_VARS = ['SMS_PROVIDER', 'SMS_WEBHOOK_TOKEN', 'SMS_SIGN_NAME', 'SMS_PUBLIC_BASE_URL', 'SMS_SEND_TIMEOUT_MS'] as const;

/** Every variable the SMS settings read (PUBLIC_BASE_URL belongs to the general settings); .env.example documents each. */
export const SMS_ENV_VARS: readonly string[] = [...SHARED_ENV_VARS, ...SMS_PROVIDERS.flatMap((p) => Object.keys(p.env))];

const CHOICES: SmsProvider[] = [...SMS_PROVIDERS.map((p) => p.id), 'none'];
/** e.g. 'Tencent/Aliyun': the providers SMS_WEBHOOK_TOKEN protects */
const PATH_TOKEN_LABELS = SMS_PROVIDERS.filter((p) => p.webhooks.some((w) => w.auth.kind === 'path-token'))
  .map((p) => p.label)
  .join('/');

export function loadSmsConfig(env: Env, problems: string[], notices: string[]): SmsConfig {
  const rawProvider = (readVar(env, 'SMS_PROVIDER') ?? 'none').toLowerCase();
  let requested: SmsProvider = 'none';
  if ((CHOICES as string[]).includes(rawProvider)) requested = rawProvider as SmsProvider;
  else problems.push(`SMS_PROVIDER: must be one of ${CHOICES.join(', ')} (got "${rawProvider}")`);

  const webhookToken = readVar(env, 'SMS_WEBHOOK_TOKEN') ?? null;
  if (webhookToken !== null) {
    if (webhookToken.length < 24) problems.push(`SMS_WEBHOOK_TOKEN: must be at least 24 characters (it is the only protection of the ${PATH_TOKEN_LABELS} webhooks)`);
    else if (!/^[A-Za-z0-9._~-]+$/.test(webhookToken)) problems.push('SMS_WEBHOOK_TOKEN: use only letters, digits and . _ ~ - (it is a URL path segment)');
  }
  const signName = readVar(env, 'SMS_SIGN_NAME') ?? null;
  if (signName !== null && (signName.length > 40 || /[【】[\]]/.test(signName))) problems.push('SMS_SIGN_NAME: the approved sign name itself, without 【】, at most 40 characters');
  // PUBLIC_BASE_URL belongs to the general/email settings (validated there): used here only when valid
  const publicBaseUrl = httpUrlVar(env, 'SMS_PUBLIC_BASE_URL', problems) ?? httpUrlVar(env, 'PUBLIC_BASE_URL', []) ?? null;

  let sendTimeoutMs = 10_000;
  const rawTimeout = readVar(env, 'SMS_SEND_TIMEOUT_MS');
  if (rawTimeout !== undefined) {
    if (/^\d+$/.test(rawTimeout) && Number(rawTimeout) >= 100 && Number(rawTimeout) <= 120_000) sendTimeoutMs = Number(rawTimeout);
    else problems.push('SMS_SEND_TIMEOUT_MS: must be a whole number of milliseconds between 100 and 120000');
  }
  const shared: SmsSharedConfig = { webhookToken, signName, publicBaseUrl, sendTimeoutMs };

  // each provider's own settings, in registry order
  const loaded = SMS_PROVIDERS.map((p) => ({ provider: p, ...p.loadConfig(env, problems, shared) }));

  // the selected provider is on only when complete
  let provider = requested;
  const selected = loaded.find((l) => l.provider.id === requested);
  if (selected) {
    const m = [...selected.missing, ...(selected.provider.capabilities.needsSignName && !signName ? ['SMS_SIGN_NAME'] : [])];
    if (m.length) {
      notices.push(`SMS sending is off: SMS_PROVIDER=${requested} but ${m.join(', ')} ${m.length > 1 ? 'are' : 'is'} not set`);
      provider = 'none';
    }
  } else {
    notices.push(`SMS sending is off: SMS_PROVIDER is not set (${listing(SMS_PROVIDERS.map((p) => p.id), 'or')})`);
  }

  if (!webhookToken) notices.push(`${PATH_TOKEN_LABELS} SMS webhooks are off: SMS_WEBHOOK_TOKEN is not set, so replies and delivery reports from them are refused`);
  for (const l of loaded) notices.push(...(l.notices?.(shared, l.provider.id === requested) ?? []));

  return Object.assign({ provider }, shared, ...loaded.map((l) => l.config)) as SmsConfig;
}
