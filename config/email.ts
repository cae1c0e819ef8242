// Email settings, in independent parts; a part whose settings are all missing is off (and
// says so in `notices`), a part set up halfway or with a bad value is a problem naming the variable.
//   sending      SMTP_URL + EMAIL_FROM (+ EMAIL_MESSAGE_ID_DOMAIN, default: EMAIL_FROM's domain)
//   unsubscribe  PUBLIC_BASE_URL + UNSUBSCRIBE_SECRET: signed one-click links; without them no
//                marketing email can carry List-Unsubscribe, so marketing email must not go out
//   inbound      EMAIL_WEBHOOK_TOKEN: the path token of the unsigned inbound routes (raw MIME, SendGrid)
//   each inbound provider's own variables (MAILGUN_SIGNING_KEY, MAILGUN_MAX_AGE_SECONDS): read by its
//                module's `loadConfig`; the modules are listed in EMAIL_INBOUND_PROVIDERS (channels/email/inbound.ts)
import { EMAIL_INBOUND_PROVIDERS, type EmailInboundSlices } from '../channels/email/inbound';
import { listing } from '../channels/env';

export interface EmailBaseConfig {
  /** true when outbound email can be sent (SMTP_URL and EMAIL_FROM both valid) */
  sendEnabled: boolean;
  /** smtp:// or smtps:// URL, credentials included; never log it */
  smtpUrl: string | null;
  /** the From header as configured, e.g. `"好店" <hello@shop.example>` */
  from: string | null;
  /** the bare address in EMAIL_FROM, lower-cased */
  fromAddress: string | null;
  /** right-hand side of our Message-IDs */
  messageIdDomain: string | null;
  /** true when unsubscribe links can be built and checked */
  unsubscribeEnabled: boolean;
  /** https origin (optionally with a path prefix), no trailing slash */
  publicBaseUrl: string | null;
  unsubscribeSecret: string | null;
  /** path token of the unsigned inbound routes (/webhooks/email/raw/:token, /webhooks/email/sendgrid/:token); null = those off */
  webhookToken: string | null;
}

/** The email settings: the shared parts above, and each inbound provider's own (e.g. mailgunSigningKey). */
export type EmailConfig = EmailBaseConfig & EmailInboundSlices;

/** e.g. 'raw MIME and SendGrid': the inbound routes EMAIL_WEBHOOK_TOKEN protects */
const PATH_TOKEN_LABELS = listing(
  EMAIL_INBOUND_PROVIDERS.filter((p) => p.webhook.auth.kind === 'path-token').map((p) => p.label),
  'and',
);

const read = (env: Record<string, string | undefined>, name: string): string | undefined => {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
};

const ADDRESS = /^[^\s@<>"(),;:]+@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
const PATH_TOKEN = /^[A-Za-z0-9_-]{24,128}$/;

/** `addr@host` or `Display Name <addr@host>` → the bare address, or null when it is neither. */
export function parseFromAddress(from: string): string | null {
  const angle = /^(?:"[^"\r\n]*"|[^<>"\r\n]*)\s*<([^<>\s]+)>$/.exec(from);
  const address = angle ? angle[1] : from;
  return ADDRESS.test(address) ? address.toLowerCase() : null;
}

export function loadEmailConfig(env: Record<string, string | undefined>, problems: string[], notices: string[]): EmailConfig {
  // sending
  const smtpUrl = read(env, 'SMTP_URL');
  const from = read(env, 'EMAIL_FROM');
  let sendOk = true;
  if (smtpUrl) {
    let url: URL | null = null;
    try {
      url = new URL(smtpUrl);
    } catch {
      url = null;
    }
    // the value holds the SMTP password: never echo it
    if (!url || (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || !url.hostname) {
      problems.push('SMTP_URL: must be an smtp:// or smtps:// URL such as smtps://user:pass@smtpdm.aliyun.com:465');
      sendOk = false;
    }
  }
  let fromAddress: string | null = null;
  if (from) {
    fromAddress = parseFromAddress(from);
    if (!fromAddress) {
      problems.push('EMAIL_FROM: must be an address such as hello@shop.example or "Shop" <hello@shop.example>');
      sendOk = false;
    }
  }
  if (smtpUrl && !from) (problems.push('EMAIL_FROM: required when SMTP_URL is set'), (sendOk = false));
  if (from && !smtpUrl) (problems.push('SMTP_URL: required when EMAIL_FROM is set'), (sendOk = false));
  const sendEnabled = Boolean(smtpUrl && from && sendOk);
  if (!smtpUrl && !from) notices.push('Outbound email is off: SMTP_URL and EMAIL_FROM are not set');

  let messageIdDomain: string | null = fromAddress ? fromAddress.slice(fromAddress.lastIndexOf('@') + 1) : null;
  const midDomain = read(env, 'EMAIL_MESSAGE_ID_DOMAIN');
  if (midDomain) {
    if (HOSTNAME.test(midDomain.toLowerCase())) messageIdDomain = midDomain.toLowerCase();
    else problems.push('EMAIL_MESSAGE_ID_DOMAIN: must be a domain name such as mail.shop.example');
  }

  // unsubscribe links
  const base = read(env, 'PUBLIC_BASE_URL');
  const secret = read(env, 'UNSUBSCRIBE_SECRET');
  let publicBaseUrl: string | null = null;
  // PUBLIC_BASE_URL is shared (SMS reads it too): it is an email problem only once links are wanted
  if (base && secret) {
    let url: URL | null = null;
    try {
      url = new URL(base);
    } catch {
      url = null;
    }
    if (!url || url.protocol !== 'https:' || !url.hostname || url.search || url.hash || url.username || url.password) {
      problems.push('PUBLIC_BASE_URL: must be an https:// URL without query (RFC 8058 one-click unsubscribe needs HTTPS), e.g. https://crm.shop.example');
    } else {
      publicBaseUrl = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
    }
  }
  if (secret && secret.length < 32) problems.push('UNSUBSCRIBE_SECRET: must be at least 32 characters (it signs unsubscribe links)');
  if (secret && !base) problems.push('PUBLIC_BASE_URL: required when UNSUBSCRIBE_SECRET is set (unsubscribe links point at it)');
  const unsubscribeEnabled = Boolean(publicBaseUrl && secret && secret.length >= 32);
  if (!unsubscribeEnabled && !secret) {
    notices.push(
      sendEnabled
        ? 'Unsubscribe links are off (UNSUBSCRIBE_SECRET and PUBLIC_BASE_URL): email goes out without List-Unsubscribe, so no marketing email may be sent'
        : 'Unsubscribe links are off: UNSUBSCRIBE_SECRET and PUBLIC_BASE_URL are not set',
    );
  }

  // inbound: the path token, then each provider's own settings
  const token = read(env, 'EMAIL_WEBHOOK_TOKEN');
  let webhookToken: string | null = null;
  if (token) {
    if (PATH_TOKEN.test(token)) webhookToken = token;
    else problems.push('EMAIL_WEBHOOK_TOKEN: must be 24 to 128 characters of A-Z, a-z, 0-9, _ or - (it is a URL path segment)');
  } else {
    notices.push(`Inbound email (${PATH_TOKEN_LABELS}) is off: EMAIL_WEBHOOK_TOKEN is not set`);
  }
  const providers = EMAIL_INBOUND_PROVIDERS.map((p) => p.loadConfig(env, problems, notices));

  return Object.assign(
    {
      sendEnabled,
      smtpUrl: sendEnabled ? smtpUrl! : null,
      from: sendEnabled ? from! : null,
      fromAddress: sendEnabled ? fromAddress : null,
      messageIdDomain,
      unsubscribeEnabled,
      publicBaseUrl: unsubscribeEnabled ? publicBaseUrl : null,
      unsubscribeSecret: unsubscribeEnabled ? secret! : null,
      webhookToken,
    },
    ...providers,
  ) as EmailConfig;
}
