// End to end through the real worker, MariaDB, Redis and an SMTP server: a staff email goes out
// with our Message-ID; the customer's reply (from another address, quoting us) threads to that
// delivery and lands on the timeline without the quoted text. And the List-Unsubscribe URL a
// marketing email carries really unsubscribes, stopping a marketing email already queued.
import { simpleParser } from 'mailparser';
import { DEFAULT_POLICY, savePolicy } from '../../src/sending/contact-policy';
import { resolveCustomer } from '../../src/customers/customers';
import { createDelivery } from '../../src/sending/deliveries';
import { inTransaction } from '../../src/platform/tx';
import { unsubscribeUrl } from '../../src/consent/unsubscribe';
import { startFakeSmtp, type FakeSmtp } from '../fakes/smtp.fake';
import { startHarness, waitFor, type Harness } from '../support/harness';

const TOKEN = 'email_hook_0123456789abcdefXYZ';

function rawHeader(raw: Buffer, name: string): string | null {
  const head = raw.toString('utf8').split(/\r?\n\r?\n/, 1)[0].replace(/\r?\n[ \t]+/g, ' ');
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line ? line.slice(name.length + 1).trim() : null;
}

describe('email threading and unsubscribe, end to end', () => {
  let smtp: FakeSmtp;
  let h: Harness;

  beforeAll(async () => {
    smtp = await startFakeSmtp();
  });
  beforeEach(async () => {
    smtp.messages.length = 0;
    h = await startHarness({
      worker: true,
      env: {
        ...smtp.env(),
        EMAIL_WEBHOOK_TOKEN: TOKEN,
        PUBLIC_BASE_URL: 'https://crm.shop.example',
        UNSUBSCRIBE_SECRET: 'unsubscribe-secret-0123456789-abcdefghij',
      },
    });
  });
  afterEach(() => h.close());
  afterAll(() => smtp.close());

  const postRaw = (raw: string) => h.request(`/webhooks/email/raw/${TOKEN}`, { method: 'POST', body: Buffer.from(raw.replace(/\r?\n/g, '\r\n')), headers: { 'content-type': 'message/rfc822' } });

  it('an email reply to a message we sent threads to it and shows on the timeline without the quoted text', async () => {
    // the customer writes first: that makes the profile
    expect(
      (
        await postRaw(
          `From: =?UTF-8?B?546L5bCP5piO?= <wxm@qq.example>\nTo: hello@shop.example\nSubject: =?UTF-8?B?5ZKW5ZWh6LGG?=\nMessage-ID: <first-1@qq.example>\nDate: ${new Date(Date.now() - 3_600_000).toUTCString()}\nContent-Type: text/plain; charset=utf-8\n\n埃塞俄比亚的豆子还有吗？\n`,
        )
      ).status,
    ).toBe(200);
    const customer = await waitFor(async () => {
      const r = await h.request('/api/identities/email/wxm@qq.example');
      return r.status === 200 ? ((await r.json()) as { id: string; name: string }) : null;
    }, 10_000, 'customer from the first email');
    expect(customer.name).toBe('王小明');

    // staff answer by email
    const sent = await h.request(`/api/customers/${customer.id}/messages`, {
      method: 'POST',
      body: JSON.stringify({ channel: 'email', subject: '咖啡豆到货了', text: '您好，埃塞俄比亚的豆子周五到货，欢迎来店自取。', actor: 'zhangsan' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(sent.status).toBe(202);
    const delivery = (await sent.json()) as { id: string; messageId: string };
    expect(delivery.messageId).toMatch(/^<[^<>@\s]+@shop\.example>$/);
    const done = await waitFor(async () => {
      const d = await h.getJson(`/api/deliveries/${delivery.id}`);
      return d.status === 'sent' ? d : null;
    }, 10_000, 'delivery sent');
    expect(done.providerRef).toBe(delivery.messageId);
    expect(smtp.messages).toHaveLength(1);
    const outbound = await simpleParser(smtp.messages[0].raw);
    expect(outbound.messageId).toBe(delivery.messageId);
    expect(smtp.messages[0].rcptTo).toEqual(['wxm@qq.example']);

    // the reply comes from their work address, quoting us Gmail-style; only In-Reply-To ties it to us
    const reply = [
      'From: Wang Xiaoming <xiaoming.wang@corp.example>',
      'To: hello@shop.example',
      'Subject: =?UTF-8?B?' + Buffer.from('Re: 咖啡豆到货了').toString('base64') + '?=',
      'Message-ID: <reply-1@corp.example>',
      `In-Reply-To: ${delivery.messageId}`,
      `References: ${delivery.messageId}`,
      // a second after our email at the earliest (Date has whole seconds)
      `Date: ${new Date(Date.now() + 2_000).toUTCString()}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      '好的，周六下午过来拿两包。',
      '',
      '在 2026年11月23日周一 10:00，好店 <hello@shop.example> 写道：',
      '',
      '> 您好，埃塞俄比亚的豆子周五到货，欢迎来店自取。',
      '',
    ].join('\n');
    expect((await postRaw(reply)).status).toBe(200);
    expect((await postRaw(reply)).status).toBe(200); // a repeat changes nothing

    const entry = await waitFor(async () => {
      const t = await h.getJson(`/api/customers/${customer.id}/timeline`);
      return t.items.find((i: { direction: string; text: string }) => i.direction === 'in' && i.text.startsWith('Re: ')) ?? null;
    }, 10_000, 'reply on the timeline');
    expect(entry).toMatchObject({ channel: 'email', kind: 'message', text: 'Re: 咖啡豆到货了\n\n好的，周六下午过来拿两包。' });
    expect(entry.text).not.toContain('写道');
    expect(entry.text).not.toContain('欢迎来店自取');

    const [row] = await h.app.db.query(`SELECT customer_id, data FROM timeline_entry WHERE id = ?`, [entry.id]);
    const data = typeof row.data === 'string' ? JSON.parse(row.data) : row.data;
    expect(String(row.customer_id)).toBe(customer.id);
    expect(data).toMatchObject({ inReplyToDelivery: delivery.id, messageId: '<reply-1@corp.example>' });

    const timeline = await h.getJson(`/api/customers/${customer.id}/timeline`);
    expect(timeline.items.map((i: { direction: string }) => i.direction)).toEqual(['in', 'out', 'in']);
    const [{ n }] = await h.app.db.query('SELECT COUNT(*) AS n FROM customer');
    expect(Number(n)).toBe(1);
  });

  it("a marketing email's List-Unsubscribe URL opts the customer out, and a marketing email already queued ends suppressed", async () => {
    // this runs on the real clock: no quiet hours, so the first email goes out at any hour
    await savePolicy(h.app.db, { ...DEFAULT_POLICY, quietHours: null }, 'test', new Date());
    const now = h.app.now();
    const { customerId } = await inTransaction(h.app.db, (em) => resolveCustomer(em, [{ channel: 'email', externalId: 'fan@example.org' }], now, now));
    const url = unsubscribeUrl(h.config.email, customerId)!;
    const marketing = (key: string) =>
      inTransaction(h.app.db, (em) =>
        createDelivery(
          em,
          {
            customerId,
            channel: 'email',
            provider: 'smtp',
            purpose: 'winback',
            marketing: true,
            idempotencyKey: key,
            toAddress: 'fan@example.org',
            content: { subject: '好久不见', text: '新豆子到了，回来看看吧。', html: '<p>新豆子到了，回来看看吧。</p>', unsubscribeUrl: url },
            messageIdDomain: h.config.email.messageIdDomain ?? undefined,
          },
          h.app.now(),
        ),
      );

    const first = await marketing('winback:1');
    await h.app.enqueueSend(first.id);
    await waitFor(async () => (await h.getJson(`/api/deliveries/${first.id}`)).status === 'sent', 10_000, 'first marketing email sent');
    const header = rawHeader(smtp.messages[0].raw, 'List-Unsubscribe');
    expect(header).toBe(`<${url}>`);
    expect(rawHeader(smtp.messages[0].raw, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');

    // the second is queued (due in 2 s) when the customer presses "unsubscribe" in their mail app
    const second = await marketing('winback:2');
    await h.app.enqueueSend(second.id, 2_000);
    const path = new URL(header!.slice(1, -1)).pathname;
    const res = await h.request(path, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(200);

    const d = await waitFor(async () => {
      const v = await h.getJson(`/api/deliveries/${second.id}`);
      return v.status !== 'queued' ? v : null;
    }, 15_000, 'second delivery settled');
    expect(d).toMatchObject({ status: 'suppressed', errorCode: 'opted_out' });
    expect(smtp.messages).toHaveLength(1);
    const consents = await h.getJson(`/api/customers/${customerId}/consents`);
    expect(consents.current).toEqual([expect.objectContaining({ channel: 'email', status: 'opted_out' })]);
    expect(consents.ledger).toEqual([expect.objectContaining({ action: 'opt_out', source: 'email_unsubscribe', evidence: 'List-Unsubscribe=One-Click' })]);
  });
});
