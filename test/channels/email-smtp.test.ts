// The SMTP adapter against a real SMTP server (smtp-server on 127.0.0.1): what arrives is parsed
// back and its headers checked; refusals and outages become the right ProviderError.
import net from 'node:net';
import { simpleParser } from 'mailparser';
import { ProviderError, type OutboundEmail } from '../../channels/channel';
import { createEmailAdapter } from '../../channels/email';
import { SmtpEmailAdapter } from '../../channels/email/smtp.email';
import { loadEmailConfig, type EmailConfig } from '../../config/email';
import { startFakeSmtp, type FakeSmtp } from '../fakes/smtp.fake';

const FROM = '"好店 Touchpoint" <hello@shop.example>';

function emailConfig(env: Record<string, string>): EmailConfig {
  const problems: string[] = [];
  const cfg = loadEmailConfig(env, problems, []);
  expect(problems).toEqual([]);
  return cfg;
}

const base = (over: Partial<OutboundEmail> = {}): OutboundEmail => ({
  kind: 'email',
  to: 'Customer.One@Example.org',
  subject: '生日快乐，王先生',
  text: '祝您生日快乐！本月到店可领取一份礼物。',
  html: '<p>祝您生日快乐！<b>本月</b>到店可领取一份礼物。</p>',
  messageId: '<d-1.abc@mail.shop.example>',
  reference: '1',
  ...over,
});

/** The value of every raw header line named `name` (unfolded), as sent. */
function rawHeaders(raw: Buffer, name: string): string[] {
  const head = raw.toString('utf8').split(/\r?\n\r?\n/, 1)[0].replace(/\r?\n[ \t]+/g, ' ');
  return head
    .split(/\r?\n/)
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(name.length + 1).trim());
}

async function expectProviderError(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('the send succeeded');
}

describe('SMTP email adapter', () => {
  let smtp: FakeSmtp;
  let adapter: SmtpEmailAdapter;

  beforeEach(async () => {
    smtp = await startFakeSmtp({ from: FROM });
    adapter = new SmtpEmailAdapter(emailConfig(smtp.env()));
  });
  afterEach(async () => {
    adapter.close();
    await smtp.close();
  });

  it('sends From, our Message-ID, the subject and a text part beside the HTML; no unsubscribe headers on non-marketing mail', async () => {
    const result = await adapter.send(base());
    expect(result).toEqual({ providerRef: '<d-1.abc@mail.shop.example>', status: 'sent' });
    expect(smtp.messages).toHaveLength(1);
    const [m] = smtp.messages;
    expect(m.mailFrom).toBe('hello@shop.example');
    // nodemailer lower-cases the domain (IDN normalisation); the local part is left alone
    expect(m.rcptTo).toEqual(['Customer.One@example.org']);

    const parsed = await simpleParser(m.raw);
    expect(parsed.from?.value[0]).toEqual({ address: 'hello@shop.example', name: '好店 Touchpoint' });
    expect(parsed.messageId).toBe('<d-1.abc@mail.shop.example>');
    expect(parsed.subject).toBe('生日快乐，王先生');
    expect(parsed.text?.trim()).toBe('祝您生日快乐！本月到店可领取一份礼物。');
    expect(parsed.html).toContain('<b>本月</b>');
    expect(rawHeaders(m.raw, 'Content-Type')[0]).toMatch(/^multipart\/alternative;/);
    expect(m.raw.toString()).toMatch(/Content-Type: text\/plain; charset=utf-8/);
    expect(m.raw.toString()).toMatch(/Content-Type: text\/html; charset=utf-8/);
    expect(rawHeaders(m.raw, 'List-Unsubscribe')).toEqual([]);
    expect(rawHeaders(m.raw, 'List-Unsubscribe-Post')).toEqual([]);
    expect(rawHeaders(m.raw, 'Date')).toHaveLength(1);
  });

  it('marketing mail carries one List-Unsubscribe with the https URL and List-Unsubscribe-Post: List-Unsubscribe=One-Click', async () => {
    const url = 'https://crm.shop.example/unsubscribe/AQAAAAAAAAAHq6urq6urq6urq6urq6urqw';
    await adapter.send(base({ unsubscribeUrl: url }));
    const [m] = smtp.messages;
    expect(rawHeaders(m.raw, 'List-Unsubscribe')).toEqual([`<${url}>`]);
    expect(rawHeaders(m.raw, 'List-Unsubscribe-Post')).toEqual(['List-Unsubscribe=One-Click']);
    // mailparser folds List-* headers into `list` (spec 4.5): read it there
    const parsed = await simpleParser(m.raw);
    expect((parsed.headers.get('list') as { unsubscribe?: { url?: string } }).unsubscribe?.url).toBe(url);
  });

  it('a reply carries In-Reply-To and References (the answered id last)', async () => {
    await adapter.send(base({ inReplyTo: '<cust-2@mail.example.org>', references: ['<d-0@mail.shop.example>', 'cust-1@mail.example.org'] }));
    const [m] = smtp.messages;
    expect(rawHeaders(m.raw, 'In-Reply-To')).toEqual(['<cust-2@mail.example.org>']);
    expect(rawHeaders(m.raw, 'References')).toEqual(['<d-0@mail.shop.example> <cust-1@mail.example.org> <cust-2@mail.example.org>']);
  });

  it('text-only mail is a single text/plain part; HTML-only input still gets a text part made from it', async () => {
    await adapter.send(base({ html: undefined }));
    expect(rawHeaders(smtp.messages[0].raw, 'Content-Type')[0]).toMatch(/^text\/plain; charset=utf-8/);

    await adapter.send(base({ messageId: '<d-2@mail.shop.example>', text: '  ', html: '<p>第一行</p><p>second &amp; last</p>' }));
    const parsed = await simpleParser(smtp.messages[1].raw);
    expect(parsed.text?.trim()).toBe('第一行\nsecond & last');
    expect(parsed.html).toContain('<p>第一行</p>');
  });

  it('550 to RCPT TO is a permanent error and nothing is delivered', async () => {
    smtp.refuse('rcpt', { code: 550, text: '5.1.1 Mailbox unavailable' });
    const err = await expectProviderError(adapter.send(base()));
    expect(err).toMatchObject({ code: 'smtp_550', permanent: true });
    expect(err.message).toMatch(/550 5\.1\.1 Mailbox unavailable/);
    expect(smtp.messages).toHaveLength(0);
  });

  it('an address the server quotes in its refusal is masked in the error (it reaches the job logs)', async () => {
    smtp.refuse('rcpt', { code: 550, text: '5.1.1 <Customer.One@example.org>: Recipient address rejected' });
    const err = await expectProviderError(adapter.send(base()));
    expect(err.message).toContain('C***@example.org');
    expect(err.message).not.toContain('Customer.One');
  });

  it('451 to DATA is transient (retry later)', async () => {
    smtp.refuse('data', { code: 451, text: '4.3.0 Local error, try again later' });
    const err = await expectProviderError(adapter.send(base()));
    expect(err).toMatchObject({ code: 'smtp_451', permanent: false });
    expect(smtp.messages).toHaveLength(0);
    smtp.refuse('data', null);
    await expect(adapter.send(base())).resolves.toMatchObject({ status: 'sent' });
  });

  it('554 to DATA is permanent; 452 to RCPT is transient', async () => {
    smtp.refuse('data', { code: 554, text: '5.7.1 Message rejected as spam' });
    expect(await expectProviderError(adapter.send(base()))).toMatchObject({ code: 'smtp_554', permanent: true });
    smtp.refuse('data', null);
    smtp.refuse('rcpt', { code: 452, text: '4.2.2 Mailbox full' });
    expect(await expectProviderError(adapter.send(base()))).toMatchObject({ code: 'smtp_452', permanent: false });
  });

  it('refuses a bad Message-ID, recipient or unsubscribe URL before talking to the server', async () => {
    expect(await expectProviderError(adapter.send(base({ messageId: 'no-at-sign' })))).toMatchObject({ code: 'bad_message_id', permanent: true });
    expect(await expectProviderError(adapter.send(base({ to: 'not an address' })))).toMatchObject({ code: 'bad_address', permanent: true });
    expect(await expectProviderError(adapter.send(base({ to: 'a@b.example, c@d.example' })))).toMatchObject({ code: 'bad_address', permanent: true });
    expect(await expectProviderError(adapter.send(base({ unsubscribeUrl: 'http://crm.shop.example/u/x' })))).toMatchObject({ code: 'bad_unsubscribe_url' });
    expect(await expectProviderError(adapter.send(base({ text: '', html: undefined })))).toMatchObject({ code: 'empty_message', permanent: true });
    expect(await expectProviderError(adapter.send(base({ marketing: true, unsubscribeUrl: undefined })))).toMatchObject({ code: 'no_unsubscribe_link', permanent: true });
    expect(smtp.messages).toHaveLength(0);
  });
});

describe('SMTP email adapter without a reachable server', () => {
  it('a refused connection is transient', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const adapter = new SmtpEmailAdapter(emailConfig({ SMTP_URL: `smtp://127.0.0.1:${port}`, EMAIL_FROM: FROM }));
    const err = await expectProviderError(adapter.send(base()));
    expect(err.permanent).toBe(false);
    expect(err.code).toBe('smtp_esocket');
  });

  it('a server that never greets times out as transient', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    const adapter = new SmtpEmailAdapter(emailConfig({ SMTP_URL: `smtp://127.0.0.1:${port}`, EMAIL_FROM: FROM }), { greetingTimeoutMs: 300 });
    try {
      const err = await expectProviderError(adapter.send(base()));
      expect(err).toMatchObject({ code: 'smtp_etimedout', permanent: false });
    } finally {
      silent.close();
      (silent as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    }
  });

  it('a wrong SMTP password is retried, not a permanent failure of the message', async () => {
    const smtp = await startFakeSmtp({ auth: { user: 'shop', pass: 'right-password' }, from: FROM });
    const adapter = new SmtpEmailAdapter(emailConfig({ SMTP_URL: smtp.url.replace('right-password', 'wrong-password'), EMAIL_FROM: FROM }));
    try {
      expect(await expectProviderError(adapter.send(base()))).toMatchObject({ code: 'smtp_auth', permanent: false });
      const good = new SmtpEmailAdapter(emailConfig(smtp.env()));
      await expect(good.send(base())).resolves.toMatchObject({ status: 'sent' });
      expect(smtp.messages).toHaveLength(1);
    } finally {
      await smtp.close();
    }
  });

  it('createEmailAdapter gives null when sending is off and the SMTP adapter when it is on', () => {
    expect(createEmailAdapter(emailConfig({}))).toBeNull();
    const a = createEmailAdapter(emailConfig({ SMTP_URL: 'smtp://127.0.0.1:2525', EMAIL_FROM: FROM }));
    expect(a).toBeInstanceOf(SmtpEmailAdapter);
    expect(a).toMatchObject({ channel: 'email', provider: 'smtp' });
  });
});
