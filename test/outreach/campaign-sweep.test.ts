// The daily campaign sweep against the real database and Redis, travelling in time through `now`:
// birthdays on the store's day (Asia/Shanghai), 29 February, one delivery and one coupon per key
// however often (or however concurrently) the sweep runs, dry runs that explain every skip and write
// nothing, and the run endpoint's input checks.
import { createContext, type AppContext } from '../../src/context';
import { recordConsent } from '../../src/consent/consent';
import { DEFAULT_CAMPAIGNS, putCampaign, type CampaignConfig } from '../../src/outreach/campaigns';
import { localDate } from '../../src/platform/store-time';
import { runCampaignSweep, type SweepResult } from '../../src/outreach/sweep';
import { inTransaction } from '../../src/platform/tx';
import pino from 'pino';
import { ALL_CHANNELS_ON, startHarness, waitFor, type Harness } from '../support/harness';

const birthday: CampaignConfig = {
  enabled: true,
  channels: ['wecom', 'sms', 'email'],
  templates: {
    wecom: { text: '{{name}}，生日快乐！{{store}}送您{{coupon.value}}元券 {{coupon.code}}，有效期至{{coupon.expiresAt}}' },
    sms: { templateId: '1110001', signName: '咖啡小店', params: ['{{name}}', '{{coupon.value}}', '{{coupon.code}}', '{{coupon.expiresAt}}'] },
    email: { subject: '{{name}}，生日快乐', text: '{{name}}，生日快乐！券码 {{coupon.code}}', html: '<p>{{name}}，券码 <b>{{coupon.code}}</b></p>' },
  },
  coupon: { value: 20, validDays: 14, prefix: 'BDAY-' },
  sendAt: '10:00',
  params: {},
};

interface NewCustomer {
  name?: string | null;
  birthday?: string | null;
  phone?: string | null;
  email?: string | null;
  wecom?: { externalUserId: string; staff: string };
  optOut?: ('sms' | 'email' | 'wecom')[];
}

let seq = 0;
async function customer(app: AppContext, c: NewCustomer): Promise<string> {
  const t = new Date('2025-01-01T00:00:00Z');
  return inTransaction(app.db, async (em) => {
    const res = await em.query(`INSERT INTO customer (name, birthday, phone, email, first_seen_at, created_at, updated_at, churn_risk) VALUES (?, ?, ?, ?, ?, ?, ?, 0)`, [
      c.name === undefined ? `顾客${++seq}` : c.name,
      c.birthday ?? null,
      c.phone ?? null,
      c.email ?? null,
      t,
      t,
      t,
    ]);
    const id = String(res.insertId);
    if (c.wecom) {
      await em.query(`INSERT INTO customer_identity (customer_id, channel, external_id, created_at) VALUES (?, 'wecom', ?, ?)`, [id, c.wecom.externalUserId, t]);
      await em.query(`INSERT INTO customer_follow (customer_id, staff_user_id, status, added_at, updated_at) VALUES (?, ?, 'active', ?, ?)`, [id, c.wecom.staff, t, t]);
    }
    for (const ch of c.optOut ?? []) await recordConsent(em, { customerId: id, channel: ch, action: 'opt_out', source: 'manual', actor: 'test', occurredAt: t }, t);
    return id;
  });
}

const count = async (app: AppContext, sql: string, params: unknown[] = []) => Number((await app.db.query(sql, params))[0].n);

async function deliveriesOf(app: AppContext, customerId: string): Promise<any[]> {
  const rows = await app.db.query(`SELECT * FROM delivery WHERE customer_id = ? ORDER BY id`, [customerId]);
  return rows.map((r: any) => ({ ...r, content: typeof r.content === 'string' ? JSON.parse(r.content) : r.content }));
}

describe('campaign sweep', () => {
  let h: Harness;
  const sweep = (opts: { kind?: 'birthday'; date: string; now: Date; dryRun?: boolean; batchSize?: number }, app: AppContext = h.app): Promise<SweepResult> =>
    runCampaignSweep(app.domain, { kind: opts.kind ?? 'birthday', ...opts });

  beforeAll(async () => {
    h = await startHarness({ env: { ...ALL_CHANNELS_ON, STORE_NAME: '咖啡小店' } });
  });
  beforeEach(async () => {
    await h.app.db.query('SET FOREIGN_KEY_CHECKS = 0');
    for (const t of ['campaign_candidate', 'coupon', 'timeline_entry', 'delivery', 'consent_event', 'customer_consent', 'customer_follow', 'customer_identity', 'customer', 'campaign']) {
      await h.app.db.query(`DELETE FROM ${t}`);
    }
    await h.app.db.query('SET FOREIGN_KEY_CHECKS = 1');
    await h.app.redis.flushdb();
    await putCampaign(h.app.db, 'birthday', birthday, 'test', new Date());
  });
  afterAll(() => h.close());

  it('greets a birthday at 23:30 UTC on the Shanghai day it already is, once, with a coupon, through the first allowed channel', async () => {
    const now = new Date('2026-03-14T23:30:00Z'); // 07:30 on 15 March in Shanghai
    const date = localDate(now, h.config.storeTimezone);
    expect(date).toBe('2026-03-15');
    const wang = await customer(h.app, { name: '王哥', birthday: '1988-03-15', phone: '+8613800000001', email: 'wang@example.com', optOut: [] });
    const yesterday = await customer(h.app, { name: '李姐', birthday: '1990-03-14', phone: '+8613800000002' });
    const onWeCom = await customer(h.app, { name: '张三', birthday: '--03-15', phone: '+8613800000003', wecom: { externalUserId: 'wmBDAY003', staff: 'zhangsan' } });

    const first = await sweep({ date, now });
    expect(first).toMatchObject({ kind: 'birthday', date: '2026-03-15', dryRun: false, candidates: 2, created: 2, skipped: {} });
    expect(first.sendAt).toBe('2026-03-15T02:00:00.000Z');
    expect(await deliveriesOf(h.app, yesterday)).toEqual([]);

    // no WeCom relation → the next channel in the campaign's order: SMS
    const [d] = await deliveriesOf(h.app, wang);
    expect(d).toMatchObject({ channel: 'sms', purpose: 'birthday', status: 'queued', idempotency_key: `birthday:${wang}:2026`, to_address: '+8613800000001', requested_by: 'campaign:birthday' });
    expect(Boolean(Number(d.marketing))).toBe(true);
    const [coupon] = await h.app.db.query(`SELECT * FROM coupon WHERE customer_id = ?`, [wang]);
    expect(coupon.code).toMatch(/^BDAY-[0-9A-HJKMNP-TV-Z]{10}$/);
    expect(coupon).toMatchObject({ delivery_id: d.id, campaign: 'birthday', value: '20.00', redeemed_at: null });
    // valid through 28 March (14 days counting the 15th), store time
    expect(new Date(coupon.expires_at).toISOString()).toBe('2026-03-28T16:00:00.000Z');
    expect(d.content).toMatchObject({
      templateId: '1110001',
      signName: '咖啡小店',
      params: ['王哥', '20', coupon.code, '2026-03-28'],
      coupon: { code: coupon.code, value: '20.00', expiresAt: '2026-03-28T16:00:00.000Z' },
    });
    // WeCom first when there is an owner
    const [w] = await deliveriesOf(h.app, onWeCom);
    expect(w).toMatchObject({ channel: 'wecom', to_address: 'wmBDAY003', staff_user_id: 'zhangsan' });
    expect(w.content.text).toMatch(/^张三，生日快乐！咖啡小店送您20元券 BDAY-\w{10}，有效期至2026-03-28$/);
    // and the staff member's task card says why
    expect(w.content.staffNote).toBe('今天是张三的生日 · 已为TA准备 20 元券');
    expect(await h.app.queues.send.wecom.getJob(`delivery:${w.id}`)).toBeTruthy();
    // not before 10:00 store time, whoever sends it
    expect(new Date(d.not_before).toISOString()).toBe('2026-03-15T02:00:00.000Z');

    // enqueued for 10:00 Shanghai (02:00 UTC), 2.5 h after "now"
    const job = await h.app.queues.send.sms.getJob(`delivery:${d.id}`);
    expect(job).toBeTruthy();
    expect(job!.opts.delay).toBe(2.5 * 3600_000);

    // on the timeline: the message and the coupon
    const timeline = await h.app.db.query(`SELECT kind, text FROM timeline_entry WHERE customer_id = ? ORDER BY id`, [wang]);
    expect(timeline.map((t: any) => t.kind)).toEqual(['message', 'coupon_issued']);
    expect(timeline[1].text).toContain(coupon.code);

    // the same day swept again (later that morning, and from the job's own clock): nothing new
    const again = await sweep({ date, now: new Date('2026-03-15T02:00:00Z') });
    expect(again).toMatchObject({ candidates: 2, created: 0, skipped: { already_sent: 2 } });
    expect(await count(h.app, `SELECT COUNT(*) AS n FROM delivery`)).toBe(2);
    expect(await count(h.app, `SELECT COUNT(*) AS n FROM coupon`)).toBe(2);
    expect(await count(h.app, `SELECT COUNT(*) AS n FROM coupon WHERE customer_id = ?`, [wang])).toBe(1);
    expect(await count(h.app, `SELECT COUNT(*) AS n FROM campaign_candidate WHERE outcome = 'delivery'`)).toBe(2);
  });

  it('greets 29 February birthdays on 28 February in other years, and on the 29th (only) in leap years', async () => {
    const leapling = await customer(h.app, { birthday: '2000-02-29', phone: '+8613800000011' });
    const feb28 = await customer(h.app, { birthday: '1999-02-28', phone: '+8613800000012' });
    const mar1 = await customer(h.app, { birthday: '1999-03-01', phone: '+8613800000013' });
    const keys = async () => (await h.app.db.query(`SELECT idempotency_key AS k FROM delivery ORDER BY id`)).map((r: any) => r.k);

    // 2026 has no 29 February: the leapling is greeted on the 28th; nobody but 1 March on the 1st
    await sweep({ date: '2026-02-28', now: new Date('2026-02-28T01:00:00Z') });
    await sweep({ date: '2026-03-01', now: new Date('2026-03-01T01:00:00Z') });
    expect((await keys()).sort()).toEqual([`birthday:${feb28}:2026`, `birthday:${leapling}:2026`, `birthday:${mar1}:2026`].sort());

    // 2028 has one: the 28th is only for 28 February birthdays, the 29th for the leapling, once
    for (const date of ['2028-02-27', '2028-02-28', '2028-02-29', '2028-02-29', '2028-03-01']) await sweep({ date, now: new Date(`${date}T01:00:00Z`) });
    const of2028 = (await keys()).filter((k: string) => k.endsWith(':2028'));
    expect(of2028.sort()).toEqual([`birthday:${feb28}:2028`, `birthday:${leapling}:2028`, `birthday:${mar1}:2028`].sort());
    const [d] = await h.app.db.query(`SELECT created_at FROM delivery WHERE idempotency_key = ?`, [`birthday:${leapling}:2028`]);
    expect(localDate(new Date(d.created_at), 'Asia/Shanghai')).toBe('2028-02-29');
    expect(await count(h.app, `SELECT COUNT(*) AS n FROM coupon`)).toBe(6);
  });

  it('two sweeps at once (two workers, two connection pools) make one delivery and one coupon per customer', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push(await customer(h.app, { birthday: '1990-06-01', phone: `+86139000${String(i).padStart(5, '0')}` }));
    const other = await createContext(h.config, { log: pino({ level: 'silent' }) });
    try {
      const now = new Date('2026-06-01T01:00:00Z');
      const [a, b] = await Promise.all([sweep({ date: '2026-06-01', now, batchSize: 7 }), sweep({ date: '2026-06-01', now, batchSize: 11 }, other)]);
      expect(a.created + b.created).toBe(60);
      expect((a.skipped.already_sent ?? 0) + (b.skipped.already_sent ?? 0)).toBe(60);
      const perCustomer = await h.app.db.query(
        `SELECT c.id, (SELECT COUNT(*) FROM delivery d WHERE d.customer_id = c.id) AS deliveries, (SELECT COUNT(*) FROM coupon k WHERE k.customer_id = c.id) AS coupons FROM customer c`,
      );
      expect(perCustomer).toHaveLength(60);
      for (const r of perCustomer) expect([Number(r.deliveries), Number(r.coupons)]).toEqual([1, 1]);
      // each coupon belongs to the delivery that names it
      const mismatched = await count(
        h.app,
        `SELECT COUNT(*) AS n FROM coupon k JOIN delivery d ON d.id = k.delivery_id WHERE JSON_UNQUOTE(JSON_EXTRACT(d.content, '$.coupon.code')) <> k.code`,
      );
      expect(mismatched).toBe(0);
      // one send job per delivery
      const jobs = await h.app.queues.send.sms.getJobs(['delayed', 'waiting']);
      expect(jobs).toHaveLength(60);
    } finally {
      await other.close();
    }
  });

  it('a dry run explains every skip, shows every message, and writes nothing', async () => {
    const reachable = await customer(h.app, { name: null, birthday: '1990-07-07', email: 'someone@example.com' });
    const smsOptOut = await customer(h.app, { name: '老周', birthday: '1990-07-07', phone: '+8613800000021', optOut: ['sms'] });
    const nowhere = await customer(h.app, { name: '无名', birthday: '1990-07-07' });
    const wecomOnly = await customer(h.app, { name: '小李', birthday: '1990-07-07', wecom: { externalUserId: 'wmDRY004', staff: 'lisi' } });
    const done = await customer(h.app, { name: '已发', birthday: '1990-07-07', phone: '+8613800000025' });
    // one of them was greeted already (say, by this morning's sweep)
    await inTransaction(h.app.db, (em) =>
      em.query(
        `INSERT INTO delivery (customer_id, channel, provider, purpose, marketing, idempotency_key, status, to_address, content, created_at, updated_at) VALUES (?, 'sms', 'tencent', 'birthday', 1, ?, 'sent', '+8613800000025', '{"text":"x"}', NOW(3), NOW(3))`,
        [done, `birthday:${done}:2026`],
      ),
    );
    const before = {
      deliveries: await count(h.app, `SELECT COUNT(*) AS n FROM delivery`),
      timeline: await count(h.app, `SELECT COUNT(*) AS n FROM timeline_entry`),
    };

    const res = await h.request('/api/campaigns/birthday/run?date=2026-07-07&dryRun=1', { method: 'POST' });
    expect(res.status).toBe(200);
    const r = (await res.json()) as SweepResult;
    expect(r).toMatchObject({ dryRun: true, candidates: 5, created: 2 });
    expect(r.send).toHaveLength(2);
    expect(r.send.map((s) => s.customerId).sort()).toEqual([reachable, wecomOnly].sort());
    const toReachable = r.send.find((s) => s.customerId === reachable)!;
    expect(toReachable).toMatchObject({ channel: 'email', idempotencyKey: `birthday:${reachable}:2026` });
    // no name → the fallback; the coupon code is a stand-in, marked as such by its X's
    expect(toReachable.preview.subject).toBe('亲爱的顾客，生日快乐');
    expect(toReachable.preview.html).toBe('<p>亲爱的顾客，券码 <b>BDAY-XXXXXXXXXX</b></p>');
    for (const s of r.send) for (const v of Object.values(s.preview)) if (typeof v === 'string') expect(v).not.toMatch(/\{\{|\}\}/);
    expect(r.send.find((s) => s.customerId === wecomOnly)).toMatchObject({ channel: 'wecom', staffUserId: 'lisi', preview: { staffNote: '今天是小李的生日 · 已为TA准备 20 元券' } });
    expect(r.skip.map(({ customerId, reason }) => ({ customerId, reason })).sort((a, b) => Number(a.customerId) - Number(b.customerId))).toEqual(
      [
        { customerId: smsOptOut, reason: 'opted_out' },
        { customerId: nowhere, reason: 'no_address' },
        { customerId: done, reason: 'already_sent' },
      ].sort((a, b) => Number(a.customerId) - Number(b.customerId)),
    );
    // every candidate is accounted for, once
    expect(r.send.length + r.skip.length).toBe(r.candidates);

    expect(await count(h.app, `SELECT COUNT(*) AS n FROM delivery`)).toBe(before.deliveries);
    expect(await count(h.app, `SELECT COUNT(*) AS n FROM timeline_entry`)).toBe(before.timeline);
    expect(await count(h.app, `SELECT COUNT(*) AS n FROM coupon`)).toBe(0);
    expect(await count(h.app, `SELECT COUNT(*) AS n FROM campaign_candidate`)).toBe(0);
    for (const q of Object.values(h.app.queues.send)) expect(await q.getJobCounts()).toMatchObject({ waiting: 0, delayed: 0 });

    // the real run of that day makes exactly what the dry run showed, and records the skips
    const real = (await (await h.request('/api/campaigns/birthday/run?date=2026-07-07', { method: 'POST' })).json()) as SweepResult;
    expect(real).toMatchObject({ dryRun: false, candidates: 5, created: 2, skipped: { opted_out: 1, no_address: 1, already_sent: 1 } });
    expect(real.send.map((s) => [s.customerId, s.channel, s.idempotencyKey]).sort()).toEqual(r.send.map((s) => [s.customerId, s.channel, s.idempotencyKey]).sort());
    const ledger = await h.app.db.query(`SELECT customer_id, outcome FROM campaign_candidate ORDER BY customer_id`);
    expect(ledger.map((l: any) => [String(l.customer_id), l.outcome])).toEqual(
      [
        [reachable, 'delivery'],
        [smsOptOut, 'opted_out'],
        [nowhere, 'no_address'],
        [wecomOnly, 'delivery'],
      ].sort((a, b) => Number(a[0]) - Number(b[0])),
    );
  });

  it('the run endpoint checks its input', async () => {
    const post = (q: string) => h.request(`/api/campaigns/${q}`, { method: 'POST' });
    for (const bad of ['birthday/run?date=2026-02-30', 'birthday/run?date=tomorrow', 'birthday/run?date=2026-7-7', 'birthday/run?date=2026-07-07&dryRun=maybe', 'welcome/run?dryRun=1']) {
      const res = await post(bad);
      expect([bad, res.status]).toEqual([bad, 400]);
    }
    expect(((await (await post('birthday/run?date=2026-02-30')).json()) as any).error.message).toMatch(/^date: /);
    expect((await post('anniversary/run?dryRun=1')).status).toBe(404);
    await putCampaign(h.app.db, 'birthday', { ...birthday, enabled: false }, 'test', new Date());
    expect((await post('birthday/run?date=2026-07-07')).status).toBe(409);
    // a disabled campaign can still be previewed
    expect((await post('birthday/run?date=2026-07-07&dryRun=1')).status).toBe(200);
    expect(await count(h.app, `SELECT COUNT(*) AS n FROM delivery`)).toBe(0);
  });

  it('a channel whose sending is off is passed over: SMS off → the email the campaign lists next; nothing left → no_channels', async () => {
    const both = await customer(h.app, { name: '小赵', birthday: '1990-09-09', phone: '+8613800000041', email: 'zhao@example.com' });
    const phoneOnly = await customer(h.app, { name: '小钱', birthday: '1990-09-09', phone: '+8613800000042' });
    const smsOff = { ...h.app.domain, adapters: { ...h.app.domain.adapters, sms: null } };
    const r = await runCampaignSweep(smsOff, { kind: 'birthday', date: '2026-09-09', now: new Date('2026-09-09T01:00:00Z'), dryRun: true });
    expect(r.send).toEqual([expect.objectContaining({ customerId: both, channel: 'email' })]);
    expect(r.skip).toEqual([expect.objectContaining({ customerId: phoneOnly, reason: 'no_address' })]);
    // with SMS on, the same day routes both by SMS, the campaign's first channel they can be reached on
    const on = await runCampaignSweep(h.app.domain, { kind: 'birthday', date: '2026-09-09', now: new Date('2026-09-09T01:00:00Z'), dryRun: true });
    expect(on.send.map((x) => [x.customerId, x.channel]).sort()).toEqual([[both, 'sms'], [phoneOnly, 'sms']].sort());
  });

  it('a template that no longer renders is a skip with its reason, not a crash', async () => {
    const id = await customer(h.app, { birthday: '1990-08-08', phone: '+8613800000031' });
    // stored before validation existed (or edited in the database): a variable we do not know
    await h.app.db.query(`UPDATE campaign SET config = JSON_SET(config, '$.templates.sms.params[0]', '{{nickname}}') WHERE kind = 'birthday'`);
    const r = await sweep({ date: '2026-08-08', now: new Date('2026-08-08T01:00:00Z') });
    expect(r).toMatchObject({ candidates: 1, created: 0, skipped: { render_failed: 1 } });
    expect(r.skip[0]).toMatchObject({ customerId: id, reason: 'render_failed', detail: expect.stringContaining('unknown variable {{nickname}}') });
    expect(await count(h.app, `SELECT COUNT(*) AS n FROM delivery WHERE customer_id = ?`, [id])).toBe(0);
    expect(await count(h.app, `SELECT COUNT(*) AS n FROM campaign_candidate WHERE customer_id = ? AND outcome = 'render_failed'`, [id])).toBe(1);
  });

  it('the daily job sweeps the store-local day it was due on (a worker processes it)', async () => {
    const today = localDate(new Date(), 'Asia/Shanghai');
    const id = await customer(h.app, { name: '今天生日', birthday: `1990-${today.slice(5)}`, phone: '+8613800000041' });
    h.startWorker();
    await h.app.queues.campaigns.add({ kind: 'birthday' }, { jobId: 'campaign-sweep-test', removeOnComplete: true });
    const row = await waitFor(async () => (await h.app.db.query(`SELECT idempotency_key FROM delivery WHERE customer_id = ?`, [id]))[0], 10_000, 'the job’s delivery');
    expect(row.idempotency_key).toBe(`birthday:${id}:${today.slice(0, 4)}`);
    // disabled: the job does nothing
    await putCampaign(h.app.db, 'birthday', { ...birthday, enabled: false }, 'test', new Date());
    const other = await customer(h.app, { name: '也是今天', birthday: `1991-${today.slice(5)}`, phone: '+8613800000042' });
    const job = await h.app.queues.campaigns.add({ kind: 'birthday' }, { jobId: 'campaign-sweep-test-2' });
    expect(await job.finished()).toEqual({ kind: 'birthday', skipped: 'disabled' });
    expect(await count(h.app, `SELECT COUNT(*) AS n FROM delivery WHERE customer_id = ?`, [other])).toBe(0);
  });
});
