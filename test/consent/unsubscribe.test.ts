// One-click unsubscribe (RFC 8058) over HTTP against the real database: GET only shows a confirm
// page; POST records one email opt-out in the consent ledger however often it comes; a token we did
// not sign is a 404. Plus the token itself: opaque, signed, checked in constant time.
import { loadEmailConfig, type EmailConfig } from '../../config/email';
import { resolveCustomer } from '../../src/customers/customers';
import { inTransaction } from '../../src/platform/tx';
import { unsubscribeToken, unsubscribeUrl, verifyUnsubscribeToken } from '../../src/consent/unsubscribe';
import { startHarness, type Harness } from '../support/harness';

const SECRET = 'unsubscribe-secret-0123456789-abcdefghij';
const ENV = { PUBLIC_BASE_URL: 'https://crm.shop.example/', UNSUBSCRIBE_SECRET: SECRET };

function emailConfig(env: Record<string, string>): EmailConfig {
  const problems: string[] = [];
  const cfg = loadEmailConfig(env, problems, []);
  expect(problems).toEqual([]);
  return cfg;
}

describe('unsubscribe tokens', () => {
  const cfg = emailConfig(ENV);

  it('round-trips the customer id; the URL is on PUBLIC_BASE_URL; no address or plain id in it', () => {
    const url = unsubscribeUrl(cfg, '4242')!;
    expect(url).toMatch(/^https:\/\/crm\.shop\.example\/unsubscribe\/[A-Za-z0-9_-]{34}$/);
    const token = url.split('/').pop()!;
    expect(token).not.toContain('4242');
    expect(verifyUnsubscribeToken(cfg, token)).toEqual({ customerId: '4242' });
    expect(verifyUnsubscribeToken(cfg, unsubscribeToken(cfg, '18446744073709551615')!)).toEqual({ customerId: '18446744073709551615' });
  });

  it('refuses tokens signed with another secret, altered, truncated, re-spelt or for no customer', () => {
    const token = unsubscribeToken(cfg, '4242')!;
    const other = emailConfig({ ...ENV, UNSUBSCRIBE_SECRET: `${SECRET}-other` });
    expect(verifyUnsubscribeToken(other, token)).toBeNull();
    const flipped = token.slice(0, 20) + (token[20] === 'A' ? 'B' : 'A') + token.slice(21);
    expect(verifyUnsubscribeToken(cfg, flipped)).toBeNull();
    expect(verifyUnsubscribeToken(cfg, token.slice(0, -1))).toBeNull();
    expect(verifyUnsubscribeToken(cfg, `${token}A`)).toBeNull();
    expect(verifyUnsubscribeToken(cfg, '')).toBeNull();
    expect(verifyUnsubscribeToken(cfg, 'x'.repeat(34))).toBeNull();
    // another customer's id under this customer's signature
    const buf = Buffer.from(token, 'base64url');
    buf.writeBigUInt64BE(4243n, 1);
    expect(verifyUnsubscribeToken(cfg, buf.toString('base64url'))).toBeNull();
    expect(unsubscribeToken(cfg, 'abc')).toBeNull();
    expect(unsubscribeToken(cfg, '18446744073709551616')).toBeNull();
  });

  it('without UNSUBSCRIBE_SECRET / PUBLIC_BASE_URL there are no links and nothing verifies', () => {
    const off = emailConfig({});
    expect(unsubscribeUrl(off, '4242')).toBeNull();
    expect(verifyUnsubscribeToken(off, unsubscribeToken(cfg, '4242')!)).toBeNull();
  });
});

describe('GET/POST /unsubscribe/:token', () => {
  let h: Harness;
  let customerId: string;
  let path: string;

  beforeAll(async () => {
    h = await startHarness({ env: ENV });
  });
  beforeEach(async () => {
    await h.app.db.query('DELETE FROM customer');
    const now = h.app.now();
    ({ customerId } = await inTransaction(h.app.db, (em) => resolveCustomer(em, [{ channel: 'email', externalId: 'wxm@qq.example' }], now, now)));
    path = new URL(unsubscribeUrl(h.config.email, customerId)!).pathname;
  });
  afterAll(() => h.close());

  const ledger = (): Promise<{ action: string; channel: string; source: string; evidence: string; dedup_key: string }[]> =>
    h.app.db.query('SELECT action, channel, source, evidence, dedup_key FROM consent_event WHERE customer_id = ? ORDER BY id', [customerId]);
  const current = async () => (await h.app.db.query(`SELECT status FROM customer_consent WHERE customer_id = ? AND channel = 'email'`, [customerId]))[0]?.status ?? null;
  const oneClick = (p = path) =>
    h.request(p, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });

  it('GET shows a confirm page in Chinese and English with a POST button, and records nothing', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await h.request(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      const page = await res.text();
      expect(page).toContain('退订营销邮件');
      expect(page).toContain('Unsubscribe from marketing email');
      expect(page).toMatch(/<form method="post">[\s\S]*<button type="submit">确认退订 \/ Confirm unsubscribe<\/button>/);
    }
    expect(await ledger()).toEqual([]);
    expect(await current()).toBeNull();
  });

  it('POST List-Unsubscribe=One-Click answers 200 at once (no redirect) and records one email opt-out; repeats add nothing', async () => {
    const res = await oneClick();
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('您已退订');
    expect(await ledger()).toEqual([
      { action: 'opt_out', channel: 'email', source: 'email_unsubscribe', evidence: 'List-Unsubscribe=One-Click', dedup_key: `email_unsubscribe:${customerId}:after:0` },
    ]);
    expect(await current()).toBe('opted_out');

    expect((await oneClick()).status).toBe(200);
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    expect((await h.request(path, { method: 'POST', body: form })).status).toBe(200);
    expect(await ledger()).toHaveLength(1);

    const timeline = await h.getJson(`/api/customers/${customerId}/timeline`);
    expect(timeline.items.filter((i: { kind: string }) => i.kind === 'opt_out')).toHaveLength(1);
  });

  it('ten one-click POSTs at once still make one ledger entry', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => oneClick()));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(await ledger()).toHaveLength(1);
  });

  it('multipart one-click (as some clients send it) is recognised', async () => {
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    expect((await h.request(path, { method: 'POST', body: form })).status).toBe(200);
    expect((await ledger())[0].evidence).toBe('List-Unsubscribe=One-Click');
  });

  it("the page's confirm button records the opt-out with its own evidence", async () => {
    const res = await h.request(path, { method: 'POST', body: 'confirm=yes', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(200);
    expect(await ledger()).toEqual([expect.objectContaining({ action: 'opt_out', evidence: 'unsubscribe page: confirm button' })]);
  });

  it('after a manual opt-in, the same link opts out again (a new entry)', async () => {
    await oneClick();
    const put = await h.request(`/api/customers/${customerId}/consents/email`, {
      method: 'PUT',
      body: JSON.stringify({ status: 'opted_in', actor: 'store-manager', note: 'asked at the counter' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(put.status).toBe(200);
    expect(await current()).toBe('opted_in');
    await oneClick();
    await oneClick();
    expect((await ledger()).map((e) => e.action)).toEqual(['opt_out', 'opt_in', 'opt_out']);
    expect(await current()).toBe('opted_out');
  });

  it('a POST with a huge streamed body still unsubscribes and does not hang the connection', async () => {
    const chunk = new Uint8Array(256 * 1024).fill(0x61);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 8) c.enqueue(chunk);
        else c.close();
      },
    });
    const res = await h.request(path, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' }, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(200);
    expect(await ledger()).toEqual([expect.objectContaining({ action: 'opt_out', evidence: 'POST to the unsubscribe link (body not read)' })]);
  });

  it('a bad token → 404 page for GET and POST, nothing recorded', async () => {
    const bad = path.slice(0, -2) + (path.endsWith('AA') ? 'BB' : 'AA');
    for (const p of [bad, '/unsubscribe/nonsense', `/unsubscribe/${'A'.repeat(34)}`]) {
      const get = await h.request(p);
      expect(get.status).toBe(404);
      expect(await get.text()).toContain('链接无效');
      const res = await oneClick(p);
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('This link is not valid');
    }
    expect(await ledger()).toEqual([]);
    expect(await h.app.db.query('SELECT * FROM consent_event')).toEqual([]);
  });

  it('a valid token for a customer since deleted answers 200 and records nothing', async () => {
    await h.app.db.query('DELETE FROM customer WHERE id = ?', [customerId]);
    expect((await oneClick()).status).toBe(200);
    expect(await h.app.db.query('SELECT * FROM consent_event')).toEqual([]);
  });
});

describe('unsubscribe when links are not configured', () => {
  it('every token is a 404', async () => {
    const h = await startHarness();
    try {
      const token = unsubscribeToken(emailConfig(ENV), '1')!;
      expect((await h.request(`/unsubscribe/${token}`)).status).toBe(404);
      expect((await h.request(`/unsubscribe/${token}`, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(404);
    } finally {
      await h.close();
    }
  });
});
