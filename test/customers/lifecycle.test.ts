// Lifecycle stages and RFM against the real database, travelling in time: the app's clock drives
// the event path (orders, messages), `runNightlyLifecycle(now)` the passing of time. Also the
// churn on WeCom deletion, and the stage/rfm filters of GET /api/customers.
import { runLifecycleNightlyJob, scheduleLifecycleNightly } from '../../jobs/lifecycle-nightly.job';
import { runNightlyLifecycle, type LifecycleThresholds } from '../../src/customers/lifecycle';
import { startHarness, waitFor, wecomEventXml, type Harness } from '../support/harness';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 6, 2); // Monday 10:00 in Shanghai
const HEADER = 'orderId,placedAt,total,currency,phone,sku,itemName,category,quantity,price';
const SMS_TOKEN = 'sms-hook-token-lifecycle-0123456789';
const DEFAULTS: LifecycleThresholds = { newDays: 30, dormantDays: 90, churnedDays: 365 };

let clock = new Date(T0);

function orderRow(orderId: string, at: number, phone: string, total = '50.00'): string {
  return `${orderId},${new Date(at).toISOString()},${total},CNY,${phone},BEAN,耶加雪菲,coffee,1,${total}`;
}

async function importOrders(h: Harness, rows: string[]): Promise<void> {
  const res = await h.request('/api/orders/import', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: [HEADER, ...rows].join('\n') });
  expect(res.status).toBe(200);
  const body = (await res.json()) as any;
  expect(body.errors).toEqual([]);
}

async function profile(h: Harness, phone: string) {
  const p = await h.getJson(`/api/identities/phone/${encodeURIComponent(phone)}`);
  return { id: p.id as string, stage: p.lifecycleStage as string, dormantSince: p.dormantSince as string | null, rfm: p.rfm, stats: p.stats };
}

const iso = (t: number) => new Date(t).toISOString();

describe('lifecycle', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ worker: true, now: () => clock, env: { SMS_WEBHOOK_TOKEN: SMS_TOKEN } });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.app.db.query('DELETE FROM customer');
    clock = new Date(T0);
  });

  it('new → active → dormant (spell starts at last activity + 90 days) → churned → active again with a new order', async () => {
    const phone = '+8613800000001';
    clock = new Date(T0 + 3600_000);
    await importOrders(h, [orderRow('L-1', T0, phone)]);
    expect(await profile(h, phone)).toMatchObject({ stage: 'new', dormantSince: null });

    clock = new Date(T0 + 10 * DAY);
    await importOrders(h, [orderRow('L-2', T0 + 10 * DAY, phone)]);
    expect(await profile(h, phone)).toMatchObject({ stage: 'active', dormantSince: null }); // a second order: no longer new

    const last = T0 + 10 * DAY;
    await runNightlyLifecycle(h.app.db, new Date(last + 89 * DAY), DEFAULTS);
    expect(await profile(h, phone)).toMatchObject({ stage: 'active', dormantSince: null });

    const first = await runNightlyLifecycle(h.app.db, new Date(last + 91 * DAY), DEFAULTS);
    expect(first.lifecycleChanged).toBe(1);
    expect(await profile(h, phone)).toMatchObject({ stage: 'dormant', dormantSince: iso(last + 90 * DAY) });
    // the same night again changes nothing
    expect((await runNightlyLifecycle(h.app.db, new Date(last + 91 * DAY), DEFAULTS)).lifecycleChanged).toBe(0);

    await runNightlyLifecycle(h.app.db, new Date(last + 366 * DAY), DEFAULTS);
    // still the same spell: its start does not move
    expect(await profile(h, phone)).toMatchObject({ stage: 'churned', dormantSince: iso(last + 90 * DAY) });

    clock = new Date(last + 400 * DAY);
    await importOrders(h, [orderRow('L-3', last + 400 * DAY, phone)]);
    expect(await profile(h, phone)).toMatchObject({ stage: 'active', dormantSince: null });
  });

  it('a one-order customer stays new for NEW_DAYS, then is active', async () => {
    const phone = '+8613800000002';
    clock = new Date(T0 + 3600_000);
    await importOrders(h, [orderRow('N-1', T0, phone)]);
    await runNightlyLifecycle(h.app.db, new Date(T0 + 29 * DAY), DEFAULTS);
    expect((await profile(h, phone)).stage).toBe('new');
    await runNightlyLifecycle(h.app.db, new Date(T0 + 31 * DAY), DEFAULTS);
    expect((await profile(h, phone)).stage).toBe('active');
  });

  it('thresholds come from the caller (config): DORMANT_DAYS 30 makes the same customer dormant sooner', async () => {
    const phone = '+8613800000003';
    clock = new Date(T0 + 3600_000);
    await importOrders(h, [orderRow('D-1', T0, phone), orderRow('D-2', T0 + 1000, phone)]);
    await runNightlyLifecycle(h.app.db, new Date(T0 + 31 * DAY), { newDays: 7, dormantDays: 30, churnedDays: 60 });
    expect(await profile(h, phone)).toMatchObject({ stage: 'dormant', dormantSince: iso(T0 + 1000 + 30 * DAY) });
  });

  it('a message from a dormant customer ends the spell at once (SMS reply through the inbox and worker)', async () => {
    const phone = '+8613800000004';
    clock = new Date(T0 + 3600_000);
    await importOrders(h, [orderRow('S-1', T0, phone), orderRow('S-2', T0 + 20 * DAY, phone)]);
    await runNightlyLifecycle(h.app.db, new Date(T0 + 200 * DAY), DEFAULTS);
    expect(await profile(h, phone)).toMatchObject({ stage: 'dormant', dormantSince: iso(T0 + 110 * DAY) });

    clock = new Date(T0 + 201 * DAY);
    const sent = Math.floor(clock.getTime() / 1000) - 30;
    const res = await fetch(`${h.url}/webhooks/sms/tencent/${SMS_TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ extend: '', mobile: '13800000004', nationcode: '86', sign: '咖啡小店', text: '还有耶加雪菲吗？', time: sent }),
    });
    expect(res.status).toBe(200);
    const p = await waitFor(async () => {
      const x = await profile(h, phone);
      return x.stage === 'active' ? x : null;
    }, 10_000, 'stage active after the reply');
    expect(p.dormantSince).toBeNull();
    expect(p.stats.lastInboundAt).toBe(new Date(sent * 1000).toISOString());
    // and the nightly job agrees
    await runNightlyLifecycle(h.app.db, new Date(T0 + 202 * DAY), DEFAULTS);
    expect((await profile(h, phone)).stage).toBe('active');
  });

  it('the nightly job is one Bull repeatable job at 03:00 store time, and its run applies the thresholds from config', async () => {
    await waitFor(async () => (await h.app.queues.lifecycle.getRepeatableJobs()).length > 0, 5000, 'the repeatable job');
    await scheduleLifecycleNightly(h.app); // a second worker starting: still one schedule
    const jobs = await h.app.queues.lifecycle.getRepeatableJobs();
    expect(jobs).toEqual([expect.objectContaining({ id: 'lifecycle-nightly', cron: '0 3 * * *', tz: 'Asia/Shanghai' })]);
    // the next run is at 03:00 in Shanghai = 19:00 UTC
    expect(new Date(jobs[0].next).getUTCHours()).toBe(19);
    expect(new Date(jobs[0].next).getUTCMinutes()).toBe(0);

    const phone = '+8613800000005';
    clock = new Date(T0 + 3600_000);
    await importOrders(h, [orderRow('J-1', T0, phone), orderRow('J-2', T0 + 5 * DAY, phone)]);
    clock = new Date(T0 + 100 * DAY);
    const r = await runLifecycleNightlyJob(h.app);
    expect(r.lifecycleChanged).toBe(1);
    expect(await profile(h, phone)).toMatchObject({ stage: 'dormant', dormantSince: iso(T0 + 95 * DAY) });
  });

  it('churned when the customer deletes every staff member; not when staff remove the customer', async () => {
    clock = new Date();
    const mk = (ext: string, change: string) =>
      h.sendCallback(wecomEventXml({ FromUserName: 'sys', CreateTime: Math.floor(Date.now() / 1000), MsgType: 'event', Event: 'change_external_contact', ChangeType: change, UserID: 'zhangsan', ExternalUserID: ext }));
    for (const [ext, phone] of [
      ['wmLIFE0001', '13811110001'],
      ['wmLIFE0002', '13811110002'],
    ]) {
      h.fake.contacts.set(ext, {
        external_contact: { external_userid: ext, name: ext, type: 1 },
        follow_user: [{ userid: 'zhangsan', remark: '', createtime: Math.floor(Date.now() / 1000) - 60, remark_mobiles: [phone], tags: [] }],
      } as any);
      expect((await mk(ext, 'add_external_contact')).status).toBe(200);
    }
    await waitFor(async () => (await h.request('/api/identities/wecom/wmLIFE0002')).status === 200, 10_000, 'both added');
    expect((await profile(h, '13811110001')).stage).toBe('new');

    expect((await mk('wmLIFE0001', 'del_follow_user')).status).toBe(200); // the customer deleted 张三
    expect((await mk('wmLIFE0002', 'del_external_contact')).status).toBe(200); // 张三 deleted the customer
    await waitFor(async () => {
      const [row] = await h.app.db.query(`SELECT COUNT(*) AS n FROM inbound_event WHERE status <> 'processed'`);
      return Number(row.n) === 0;
    }, 10_000, 'events processed');
    expect((await profile(h, '13811110001')).stage).toBe('churned');
    expect((await profile(h, '13811110002')).stage).toBe('new');
    // the nightly job keeps both where they are
    await runNightlyLifecycle(h.app.db, new Date(), DEFAULTS);
    expect((await profile(h, '13811110001')).stage).toBe('churned');
    expect((await profile(h, '13811110002')).stage).toBe('new');
  });
});

describe('RFM and the customer list filters', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ now: () => clock });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.app.db.query('DELETE FROM customer');
    clock = new Date(T0 + 400 * DAY);
  });

  const phoneOf = (i: number) => `+86139000000${String(i).padStart(2, '0')}`;

  it('scores 1–5 by quintile: 10 customers, two per quintile; customers without orders have none', async () => {
    // customer i (1..10): i orders, the last one i days after T0 (more recent = higher R), and
    // spending (11 - i) × 100 in all (higher i = lower M)
    const rows: string[] = [];
    for (let i = 1; i <= 10; i++) {
      const each = (((11 - i) * 100) / i).toFixed(2);
      const spent = Number(each) * i;
      expect(Math.abs(spent - (11 - i) * 100)).toBeLessThan(0.05);
      for (let k = 0; k < i; k++) rows.push(orderRow(`F-${i}-${k}`, T0 + (i - (i - 1 - k) * 0.01) * DAY, phoneOf(i), each));
    }
    await importOrders(h, rows);
    const { id: noOrders } = await (async () => {
      const res = await h.request('/api/customers/import', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'phone\n13700000099\n' });
      expect(res.status).toBe(200);
      return h.getJson('/api/identities/phone/13700000099');
    })();

    const r = await runNightlyLifecycle(h.app.db, clock, DEFAULTS);
    expect(r.rfmScored).toBe(10);
    for (let i = 1; i <= 10; i++) {
      const q = Math.ceil(i / 2);
      expect({ i, rfm: (await profile(h, phoneOf(i))).rfm }).toEqual({ i, rfm: { r: q, f: q, m: Math.ceil((11 - i) / 2) } });
    }
    expect((await h.getJson(`/api/customers/${noOrders}`)).rfm).toEqual({ r: null, f: null, m: null });

    // filters
    const ids = async (qs: string) => ((await h.getJson(`/api/customers?${qs}`)).items as any[]).map((x) => x.id).sort();
    const idOf = async (i: number) => (await profile(h, phoneOf(i))).id;
    expect(await ids('rfm=r5')).toEqual([await idOf(9), await idOf(10)].sort());
    expect(await ids('rfm=M5')).toEqual([await idOf(1), await idOf(2)].sort());
    expect(await ids('rfm=551')).toEqual([await idOf(9), await idOf(10)].sort());
    expect(await ids('rfm=432')).toEqual([]);
    expect(await ids('rfm=555')).toEqual([]);
    // all of them last ordered ~390 days ago: churned; the customer without orders was first seen now
    expect((await ids('stage=churned')).length).toBe(10);
    expect(await ids('stage=new')).toEqual([noOrders]);
    expect(await ids('stage=churned&rfm=r1')).toEqual([await idOf(1), await idOf(2)].sort());
    const item = (await h.getJson('/api/customers?rfm=551')).items[0];
    expect(item).toMatchObject({ lifecycleStage: 'churned', rfm: { r: 5, f: 5, m: 1 } });

    for (const bad of ['rfm=r6', 'rfm=x1', 'rfm=55', 'rfm=5555', 'rfm=', 'stage=sleeping', 'stage=']) {
      const res = await h.request(`/api/customers?${bad}`);
      expect({ bad, status: res.status }).toEqual({ bad, status: 400 });
    }
  });

  it('equal values share the lower quintile (NTILE alone would split them by id)', async () => {
    // order counts 1, 1, 1, 2, 3
    const counts = [1, 1, 1, 2, 3];
    const rows: string[] = [];
    counts.forEach((n, i) => {
      for (let k = 0; k < n; k++) rows.push(orderRow(`T-${i}-${k}`, T0 + (i * 5 + k) * DAY, phoneOf(20 + i)));
    });
    await importOrders(h, rows);
    await runNightlyLifecycle(h.app.db, clock, DEFAULTS);
    const f = [];
    for (let i = 0; i < counts.length; i++) f.push((await profile(h, phoneOf(20 + i))).rfm.f);
    expect(f).toEqual([1, 1, 1, 4, 5]);
  });

  it('a count not divisible by 5 splits as NTILE(5) does: 7 customers → 1, 1, 2, 2, 3, 4, 5', async () => {
    const rows: string[] = [];
    for (let i = 0; i < 7; i++) for (let k = 0; k <= i; k++) rows.push(orderRow(`S7-${i}-${k}`, T0 + (i * 10 + k) * DAY, phoneOf(40 + i)));
    await importOrders(h, rows);
    await runNightlyLifecycle(h.app.db, clock, DEFAULTS);
    const scores = [];
    for (let i = 0; i < 7; i++) scores.push((await profile(h, phoneOf(40 + i))).rfm);
    expect(scores.map((x) => x.f)).toEqual([1, 1, 2, 2, 3, 4, 5]);
    expect(scores.map((x) => x.r)).toEqual([1, 1, 2, 2, 3, 4, 5]);
  });
});
