// Email settings: each part on only when complete, off with a notice when unset, a problem naming
// the variable when half set or invalid; loadConfig refuses to start on any problem.
import { ConfigError, loadConfig } from '../../config';
import { loadEmailConfig, parseFromAddress } from '../../config/email';

function load(env: Record<string, string>) {
  const problems: string[] = [];
  const notices: string[] = [];
  const cfg = loadEmailConfig(env, problems, notices);
  return { cfg, problems, notices };
}

const FULL = {
  SMTP_URL: 'smtps://shop%40mail.shop.example:p%40ss@smtpdm.aliyun.com:465',
  EMAIL_FROM: '"好店 Touchpoint" <Hello@Mail.Shop.example>',
  PUBLIC_BASE_URL: 'https://crm.shop.example/tp/',
  UNSUBSCRIBE_SECRET: 's'.repeat(32),
  EMAIL_WEBHOOK_TOKEN: 'Ab0_-'.repeat(5),
  MAILGUN_SIGNING_KEY: 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0',
};

describe('loadEmailConfig', () => {
  it('nothing set: every part off, each saying so, no problems', () => {
    const { cfg, problems, notices } = load({});
    expect(problems).toEqual([]);
    expect(cfg).toMatchObject({ sendEnabled: false, smtpUrl: null, from: null, unsubscribeEnabled: false, webhookToken: null, mailgunSigningKey: null, mailgunMaxAgeSeconds: 900 });
    expect(notices).toEqual([
      'Outbound email is off: SMTP_URL and EMAIL_FROM are not set',
      'Unsubscribe links are off: UNSUBSCRIBE_SECRET and PUBLIC_BASE_URL are not set',
      'Inbound email (raw MIME and SendGrid) is off: EMAIL_WEBHOOK_TOKEN is not set',
      'Mailgun inbound email is off: MAILGUN_SIGNING_KEY is not set',
    ]);
  });

  it('everything set: all on, Message-ID domain from EMAIL_FROM, base URL without the trailing slash', () => {
    const { cfg, problems, notices } = load(FULL);
    expect(problems).toEqual([]);
    expect(notices).toEqual([]);
    expect(cfg).toEqual({
      sendEnabled: true,
      smtpUrl: FULL.SMTP_URL,
      from: FULL.EMAIL_FROM,
      fromAddress: 'hello@mail.shop.example',
      messageIdDomain: 'mail.shop.example',
      unsubscribeEnabled: true,
      publicBaseUrl: 'https://crm.shop.example/tp',
      unsubscribeSecret: FULL.UNSUBSCRIBE_SECRET,
      webhookToken: FULL.EMAIL_WEBHOOK_TOKEN,
      mailgunSigningKey: FULL.MAILGUN_SIGNING_KEY,
      mailgunMaxAgeSeconds: 900,
    });
  });

  it('EMAIL_MESSAGE_ID_DOMAIN overrides the default', () => {
    expect(load({ ...FULL, EMAIL_MESSAGE_ID_DOMAIN: 'MID.Shop.example' }).cfg.messageIdDomain).toBe('mid.shop.example');
  });

  it('sending without unsubscribe links warns that no marketing email may go out', () => {
    const { cfg, notices } = load({ SMTP_URL: FULL.SMTP_URL, EMAIL_FROM: 'hello@shop.example' });
    expect(cfg.sendEnabled).toBe(true);
    expect(notices).toContainEqual(expect.stringMatching(/no marketing email may be sent/));
  });

  it.each([
    [{ SMTP_URL: FULL.SMTP_URL }, 'EMAIL_FROM: required when SMTP_URL is set'],
    [{ EMAIL_FROM: 'a@shop.example' }, 'SMTP_URL: required when EMAIL_FROM is set'],
    [{ SMTP_URL: 'http://smtp.example', EMAIL_FROM: 'a@shop.example' }, /^SMTP_URL: must be an smtp:\/\/ or smtps:\/\/ URL/],
    [{ SMTP_URL: 'not a url', EMAIL_FROM: 'a@shop.example' }, /^SMTP_URL: /],
    [{ SMTP_URL: FULL.SMTP_URL, EMAIL_FROM: 'Shop <not-an-address>' }, /^EMAIL_FROM: must be an address/],
    [{ EMAIL_MESSAGE_ID_DOMAIN: 'not a domain' }, /^EMAIL_MESSAGE_ID_DOMAIN: /],
    [{ UNSUBSCRIBE_SECRET: FULL.UNSUBSCRIBE_SECRET }, 'PUBLIC_BASE_URL: required when UNSUBSCRIBE_SECRET is set (unsubscribe links point at it)'],
    [{ UNSUBSCRIBE_SECRET: 'short', PUBLIC_BASE_URL: 'https://crm.shop.example' }, /^UNSUBSCRIBE_SECRET: must be at least 32 characters/],
    [{ UNSUBSCRIBE_SECRET: FULL.UNSUBSCRIBE_SECRET, PUBLIC_BASE_URL: 'http://crm.shop.example' }, /^PUBLIC_BASE_URL: must be an https:\/\/ URL/],
    [{ UNSUBSCRIBE_SECRET: FULL.UNSUBSCRIBE_SECRET, PUBLIC_BASE_URL: 'https://crm.shop.example/?x=1' }, /^PUBLIC_BASE_URL: /],
    [{ EMAIL_WEBHOOK_TOKEN: 'too-short' }, /^EMAIL_WEBHOOK_TOKEN: must be 24 to 128 characters/],
    [{ EMAIL_WEBHOOK_TOKEN: `${'a'.repeat(30)}/x` }, /^EMAIL_WEBHOOK_TOKEN: /],
    [{ MAILGUN_SIGNING_KEY: 'short' }, /^MAILGUN_SIGNING_KEY: /],
    [{ MAILGUN_MAX_AGE_SECONDS: '10' }, /^MAILGUN_MAX_AGE_SECONDS: /],
    [{ MAILGUN_MAX_AGE_SECONDS: '0x100' }, /^MAILGUN_MAX_AGE_SECONDS: /],
  ])('%j is a problem naming the variable', (env, message) => {
    const { problems } = load(env as Record<string, string>);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('a half-set or invalid part is off, never half on', () => {
    expect(load({ SMTP_URL: FULL.SMTP_URL }).cfg).toMatchObject({ sendEnabled: false, smtpUrl: null, from: null });
    expect(load({ SMTP_URL: FULL.SMTP_URL, EMAIL_FROM: 'bad' }).cfg.sendEnabled).toBe(false);
    expect(load({ UNSUBSCRIBE_SECRET: 'short', PUBLIC_BASE_URL: 'https://crm.shop.example' }).cfg).toMatchObject({ unsubscribeEnabled: false, unsubscribeSecret: null });
  });

  it('PUBLIC_BASE_URL alone (SMS reads it too) is not an email problem, even as http', () => {
    const { cfg, problems } = load({ PUBLIC_BASE_URL: 'http://localhost:3000' });
    expect(problems).toEqual([]);
    expect(cfg.unsubscribeEnabled).toBe(false);
  });

  it('never echoes the SMTP password', () => {
    const { problems } = load({ SMTP_URL: 'ftp://user:hunter2-secret@smtp.example', EMAIL_FROM: 'a@shop.example' });
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('parseFromAddress reads bare and display-name forms', () => {
    expect(parseFromAddress('Hello@Shop.example')).toBe('hello@shop.example');
    expect(parseFromAddress('好店 <hello@shop.example>')).toBe('hello@shop.example');
    expect(parseFromAddress('"Shop, Inc." <hello@shop.example>')).toBe('hello@shop.example');
    expect(parseFromAddress('hello@localhost')).toBeNull();
    expect(parseFromAddress('<a@b.example> trailing')).toBeNull();
  });

  it('loadConfig refuses to start on an email problem and carries the notices otherwise', () => {
    expect(() => loadConfig({ SMTP_URL: FULL.SMTP_URL })).toThrow(ConfigError);
    const c = loadConfig(FULL);
    expect(c.email.sendEnabled).toBe(true);
    expect(c.notices.filter((n) => /email|unsubscribe|mailgun/i.test(n))).toEqual([]);
  });
});
