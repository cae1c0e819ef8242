// Email settings, in four independent parts; a part whose settings are all missing is off (and
// says so in `notices`), a part set up halfway or with a bad value is a problem naming the variable.
//   sending      SMTP_URL + EMAIL_FROM (+ EMAIL_MESSAGE_ID_DOMAIN, default: EMAIL_FROM's domain)
//   unsubscribe  PUBLIC_BASE_URL + UNSUBSCRIBE_SECRET: signed one-click links; without them no
//                marketing email can carry List-Unsubscribe, so marketing email must not go out
//   inbound      EMAIL_WEBHOOK_TOKEN: the raw RFC 822 endpoint and SendGrid Inbound Parse
//   mailgun      MAILGUN_SIGNING_KEY (+ MAILGUN_MAX_AGE_SECONDS, default 900)

export interface EmailConfig {
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
  /** path token for /webhooks/email/raw/:token and /webhooks/email/sendgrid/:token; null = both off */
  webhookToken: string | null;
  /** Mailgun HTTP webhook signing key; null = /webhooks/email/mailgun off */
  mailgunSigningKey: string | null;
  /** a Mailgun signature older (or further in the future) than this is refused */
  mailgunMaxAgeSeconds: number;
}

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

  // inbound: raw MIME and SendGrid
  const token = read(env, 'EMAIL_WEBHOOK_TOKEN');
  let webhookToken: string | null = null;
  if (token) {
    if (PATH_TOKEN.test(token)) webhookToken = token;
    else problems.push('EMAIL_WEBHOOK_TOKEN: must be 24 to 128 characters of A-Z, a-z, 0-9, _ or - (it is a URL path segment)');
  } else {
    notices.push('Inbound email (raw MIME and SendGrid) is off: EMAIL_WEBHOOK_TOKEN is not set');
  }

  // inbound: Mailgun
  const mgKey = read(env, 'MAILGUN_SIGNING_KEY');
  let mailgunSigningKey: string | null = null;
  if (mgKey) {
    if (mgKey.length >= 16 && !/\s/.test(mgKey)) mailgunSigningKey = mgKey;
    else problems.push('MAILGUN_SIGNING_KEY: must be the HTTP webhook signing key from the Mailgun console (16+ characters, no spaces)');
  } else {
    notices.push('Mailgun inbound email is off: MAILGUN_SIGNING_KEY is not set');
  }
  let mailgunMaxAgeSeconds = 900;
  const maxAge = read(env, 'MAILGUN_MAX_AGE_SECONDS');
  if (maxAge) {
    if (/^\d{1,6}$/.test(maxAge) && Number(maxAge) >= 60 && Number(maxAge) <= 86_400) mailgunMaxAgeSeconds = Number(maxAge);
    else problems.push('MAILGUN_MAX_AGE_SECONDS: must be a whole number of seconds from 60 to 86400');
  }

  return {
    sendEnabled,
    smtpUrl: sendEnabled ? smtpUrl! : null,
    from: sendEnabled ? from! : null,
    fromAddress: sendEnabled ? fromAddress : null,
    messageIdDomain,
    unsubscribeEnabled,
    publicBaseUrl: unsubscribeEnabled ? publicBaseUrl : null,
    unsubscribeSecret: unsubscribeEnabled ? secret! : null,
    webhookToken,
    mailgunSigningKey,
    mailgunMaxAgeSeconds,
  };
}
