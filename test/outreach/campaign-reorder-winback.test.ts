// Reorder and win-back sweeps against the real database, travelling in time through `now`:
// a nudge once the expected next order (customer_rhythm) is passed by the grace days and no order
// came since, naming the product, one per last order; win-back once per dormancy spell as the nightly
// lifecycle job (src/lifecycle.ts) opens it, and again only after the customer came back and left again.
import { refreshLifecycle, runNightlyLifecycle } from '../../src/customers/lifecycle';
import { putCampaign, type CampaignConfig } from '../../src/outreach/campaigns';
import { localDate } from '../../src/platform/store-time';
import { runCampaignSweep } from '../../src/outreach/sweep';
import { ALL_CHANNELS_ON, startHarness, type Harness } from '../support/harness';

const DAY = 86_400_000;
const thresholds = { newDays: 30, dormantDays: 90, churnedDays: 365 };

const reorder: CampaignConfig = {
  enabled: true,
  channels: ['wecom', 'sms'],
  templates: {
    wecom: { text: '{{name}}，您常买的{{lastProduct}}该补货了，送您{{coupon.value}}元券 {{coupon.code}}' },
    sms: { templateId: '2220002', signName: '咖啡小店', params: ['{{name}}', '{{lastProduct}}', '{{coupon.code}}'] },
  },
  coupon: { value: 10, validDays: 7, prefix: 'RE-' },
  sendAt: '10:00',
  params: { graceDays: 3 },
};
const winback: CampaignConfig = {
  enabled: true,
  channels: ['sms'],
  templates: { sms: { templateId: '3330003', signName: '咖啡小店', params: ['{{name}}', '{{coupon.value}}', '{{coupon.code}}'] } },
  coupon: { value: 30, validDays: 30, prefix: 'WB-' },
  sendAt: '10:00',
  params: { dormantDays: 90 },
};

describe('reorder and win-back sweeps', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: ALL_CHANNELS_ON });
  });
  beforeEach(async () => {
    await h.app.db.query('SET FOREIGN_KEY_CHECKS = 0');
    for (const t of ['campaign_candidate', 'coupon', 'timeline_entry', 'delivery', 'customer_rhythm', 'shop_order', 'customer', 'campaign']) await h.app.db.query(`DELETE FROM ${t}`);
    await h.app.db.query('SET FOREIGN_KEY_CHECKS = 1');
    await h.app.redis.flushdb();
    await putCampaign(h.app.db, 'reorder', reorder, 'test', new Date());
    await putCampaign(h.app.db, 'winback', winback, 'test', new Date());
  });
  afterAll(() => h.close());

  let phoneSeq = 0;
  async function customer(name: string, firstSeen: Date): Promise<string> {
    const res = await h.app.db.query(`INSERT INTO customer (name, phone, first_seen_at, created_at, updated_at, churn_risk) VALUES (?, ?, ?, ?, ?, 0)`, [
      name,
      `+86137${String(++phoneSeq).padStart(8, '0')}`,
      firstSeen,
      firstSeen,
      firstSeen,
    ]);
    return String(res.insertId);
  }
  /** The customer's latest order and what the rhythm makes of it (as src/orders.ts keeps them). */
  async function bought(customerId: string, orderId: number, at: Date, gapDays: number | null, product: string, category = ''): Promise<void> {
    await h.app.db.query(`UPDATE customer SET last_order_at = GREATEST(COALESCE(last_order_at, ?), ?), order_count = order_count + 1 WHERE id = ?`, [at, at, customerId]);
    await h.app.db.query(
      `INSERT INTO customer_rhythm (customer_id, category, order_count, last_order_at, last_order_id, last_product, median_gap_days, expected_next_at, updated_at)
       VALUES (?, ?, 5, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE last_order_at = VALUES(last_order_at), last_order_id = VALUES(last_order_id), last_product = VALUES(last_product),
         median_gap_days = VALUES(median_gap_days), expected_next_at = VALUES(expected_next_at)`,
      [customerId, category, at, orderId, product, gapDays, gapDays === null ? null : new Date(at.getTime() + gapDays * DAY), at],
    );
  }
  const sweep = (kind: 'reorder' | 'winback', now: Date) => runCampaignSweep(h.app.domain, { kind, date: localDate(now, 'Asia/Shanghai'), now });
  const deliveries = async (): Promise<{ customerId: string; key: string; content: any }[]> =>
    (await h.app.db.query(`SELECT customer_id, idempotency_key, content FROM delivery ORDER BY id`)).map((r: any) => ({
      customerId: String(r.customer_id),
      key: r.idempotency_key,
      content: typeof r.content === 'string' ? JSON.parse(r.content) : r.content,
    }));

  it('nudges a customer who buys every ~28 days and is 5 days overdue, naming the product — once per last order', async () => {
    const now = new Date('2026-05-20T02:00:00Z'); // 10:00 in Shanghai
    const wang = await customer('王哥', new Date('2025-06-01T00:00:00Z'));
    await bought(wang, 42, new Date(now.getTime() - 33 * DAY), 28, '耶加雪菲咖啡豆');
    await bought(wang, 42, new Date(now.getTime() - 33 * DAY), 30, '手冲滤纸', 'accessories'); // per-category rows are not the overall rhythm
    const withinGrace = await customer('刚到期', new Date('2025-06-01T00:00:00Z'));
    await bought(withinGrace, 50, new Date(now.getTime() - 30 * DAY), 28, '燕麦奶'); // 2 days overdue, grace is 3
    const orderedSince = await customer('已回购', new Date('2025-06-01T00:00:00Z'));
    await bought(orderedSince, 60, new Date(now.getTime() - 33 * DAY), 28, '冷萃咖啡液');
    await h.app.db.query(`UPDATE customer SET last_order_at = ? WHERE id = ?`, [new Date(now.getTime() - DAY), orderedSince]); // an order the rhythm has not caught up with
    const longGone = await customer('很久以前', new Date('2024-06-01T00:00:00Z'));
    await bought(longGone, 70, new Date(now.getTime() - 100 * DAY), 28, '挂耳咖啡'); // overdue since 72 days: beyond the catch-up window
    const oneOrder = await customer('只买过一次', new Date('2025-06-01T00:00:00Z'));
    await bought(oneOrder, 80, new Date(now.getTime() - 60 * DAY), null, '滴滤壶'); // no rhythm yet

    const r = await sweep('reorder', now);
    expect(r).toMatchObject({ candidates: 1, created: 1 });
    const [d] = await deliveries();
    expect(d).toMatchObject({ customerId: wang, key: `reorder:${wang}:42` });
    expect(d.content.params).toEqual(['王哥', '耶加雪菲咖啡豆', expect.stringMatching(/^RE-[0-9A-Z]{10}$/)]);

    // the next days: he is still overdue with the same last order — nothing more for him; the one who
    // was within the grace days is nudged on the day it runs out (3 days past the expected date)
    const created: number[] = [];
    for (const days of [1, 2, 5]) created.push((await sweep('reorder', new Date(now.getTime() + days * DAY))).created);
    expect(created).toEqual([1, 0, 0]);
    expect((await deliveries()).map((x) => x.key)).toEqual([`reorder:${wang}:42`, `reorder:${withinGrace}:50`]);
    // with a grace of 6 days he would not have been a candidate on the 5th day overdue (a dry run)
    const graceSix = await runCampaignSweep(h.app.domain, { kind: 'reorder', date: localDate(now, 'Asia/Shanghai'), now, dryRun: true, campaign: { ...reorder, params: { graceDays: 6 } } });
    expect(graceSix).toMatchObject({ candidates: 0, send: [], skip: [] });

    // he orders again (order 43); 33 days later he is overdue again: a new nudge for the new order
    const later = new Date(now.getTime() + 10 * DAY);
    await bought(wang, 43, later, 28, '曼特宁咖啡豆');
    expect((await sweep('reorder', new Date(later.getTime() + 20 * DAY))).created).toBe(0);
    const again = await sweep('reorder', new Date(later.getTime() + 33 * DAY));
    expect(again.created).toBe(1);
    expect((await deliveries()).map((x) => x.key)).toContain(`reorder:${wang}:43`);
  });

  it('wins back a customer once per dormancy spell, as the lifecycle opens it', async () => {
    const t0 = new Date('2026-01-05T02:00:00Z');
    const li = await customer('李姐', new Date('2025-06-01T00:00:00Z'));
    await h.app.db.query(`UPDATE customer SET last_order_at = ?, order_count = 3 WHERE id = ?`, [t0, li]);
    const ancient = await customer('老顾客', new Date('2023-01-01T00:00:00Z'));
    await h.app.db.query(`UPDATE customer SET last_order_at = ?, order_count = 1 WHERE id = ?`, [new Date(t0.getTime() - 400 * DAY), ancient]);

    // day 89: not dormant yet; day 91: the nightly lifecycle opens the spell (dormant since day 90)
    const day = (n: number) => new Date(t0.getTime() + n * DAY);
    await runNightlyLifecycle(h.app.db, day(89), thresholds);
    expect((await sweep('winback', day(89))).created).toBe(0);
    await runNightlyLifecycle(h.app.db, day(91), thresholds);
    const [{ dormant_since }] = await h.app.db.query(`SELECT dormant_since FROM customer WHERE id = ?`, [li]);
    expect(new Date(dormant_since).toISOString()).toBe(day(90).toISOString());
    const first = await sweep('winback', day(91));
    // the customer whose spell began long before the catch-up window is not swept every day
    expect(first).toMatchObject({ candidates: 1, created: 1 });
    expect((await deliveries())[0]).toMatchObject({ customerId: li, key: `winback:${li}:${day(90).toISOString()}` });

    // the same spell: nothing more, however often
    for (const n of [92, 100, 115]) {
      await runNightlyLifecycle(h.app.db, day(n), thresholds);
      expect((await sweep('winback', day(n))).created).toBe(0);
    }

    // she comes back (an order ends the spell), then goes quiet again: a second spell, a second message
    await h.app.db.query(`UPDATE customer SET last_order_at = ? WHERE id = ?`, [day(120), li]);
    await refreshLifecycle(h.app.db, [li], day(120), thresholds);
    expect((await h.app.db.query(`SELECT dormant_since FROM customer WHERE id = ?`, [li]))[0].dormant_since).toBeNull();
    await runNightlyLifecycle(h.app.db, day(211), thresholds);
    const second = await sweep('winback', day(211));
    expect(second.created).toBe(1);
    expect((await deliveries()).map((d) => d.key)).toEqual([`winback:${li}:${day(90).toISOString()}`, `winback:${li}:${day(210).toISOString()}`]);
  });

  it('a longer dormantDays waits until the customer has been silent that long', async () => {
    await putCampaign(h.app.db, 'winback', { ...winback, params: { dormantDays: 120 } }, 'test', new Date());
    const t0 = new Date('2026-01-05T02:00:00Z');
    const day = (n: number) => new Date(t0.getTime() + n * DAY);
    const zhou = await customer('老周', new Date('2025-06-01T00:00:00Z'));
    await h.app.db.query(`UPDATE customer SET last_order_at = ?, order_count = 2 WHERE id = ?`, [t0, zhou]);
    await runNightlyLifecycle(h.app.db, day(100), thresholds);
    expect((await sweep('winback', day(100))).created).toBe(0);
    await runNightlyLifecycle(h.app.db, day(118), thresholds);
    expect((await sweep('winback', day(118))).created).toBe(0);
    // the sweep of day 120 judges at that day's end
    await runNightlyLifecycle(h.app.db, day(120), thresholds);
    expect((await sweep('winback', day(120))).created).toBe(1);
  });
});
