// Coupons against the real database: issued with a delivery, redeemed once by an order (which is then
// attributed to the delivery), every refused use — a second order, another customer, too late, an
// unknown code — recorded on the ordering customer's timeline; two orders racing for one coupon.
import { generateCouponCode, issueCoupons } from '../../src/outreach/coupons';
import { redeemCouponForOrder } from '../../src/orders/orders';
import { createDelivery } from '../../src/sending/deliveries';
import { inTransaction } from '../../src/platform/tx';
import { startHarness, type Harness } from '../support/harness';

describe('coupons', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const t0 = new Date('2026-03-15T02:00:00Z');
  const expiresAt = new Date('2026-03-28T16:00:00Z');

  async function customer(name: string): Promise<string> {
    const res = await h.app.db.query(`INSERT INTO customer (name, first_seen_at, created_at, updated_at, churn_risk) VALUES (?, ?, ?, ?, 0)`, [name, t0, t0, t0]);
    return String(res.insertId);
  }
  let orderSeq = 0;
  async function order(customerId: string, total: string, code: string): Promise<string> {
    const res = await h.app.db.query(
      `INSERT INTO shop_order (order_id, customer_id, total, currency, placed_at, coupon_code, source, created_at) VALUES (?, ?, ?, 'CNY', ?, ?, 'webhook', ?)`,
      [`SHOP-${++orderSeq}`, customerId, total, t0, code, t0],
    );
    return String(res.insertId);
  }
  /** A birthday delivery with its coupon, as the sweep makes them. */
  async function issued(customerId: string): Promise<{ code: string; deliveryId: string }> {
    const code = generateCouponCode('BDAY-');
    const deliveryId = await inTransaction(h.app.db, async (em) => {
      const d = await createDelivery(
        em,
        { customerId, channel: 'sms', provider: 'tencent', purpose: 'birthday', marketing: true, idempotencyKey: `birthday:${customerId}:2026`, toAddress: '+8613800000000', content: { text: `券 ${code}` } },
        t0,
      );
      await issueCoupons(em, [{ code, deliveryId: d.id, customerId, campaign: 'birthday', value: '20.00', expiresAt, lastValidDay: '2026-03-28' }], t0);
      return d.id;
    });
    return { code, deliveryId };
  }
  const redeem = (code: string, customerId: string, orderId: string, at = new Date('2026-03-20T04:00:00Z')) =>
    inTransaction(h.app.db, (em) => redeemCouponForOrder(em, { code, customerId, orderId, at }));
  const timeline = async (customerId: string) =>
    (await h.app.db.query(`SELECT kind, text, JSON_UNQUOTE(JSON_EXTRACT(data, '$.reason')) AS reason FROM timeline_entry WHERE customer_id = ? ORDER BY id`, [customerId])) as {
      kind: string;
      text: string;
      reason: string | null;
    }[];

  it('is issued onto the timeline, redeemed once, and a second use is refused and recorded', async () => {
    const wang = await customer('王哥');
    const { code, deliveryId } = await issued(wang);
    expect((await timeline(wang)).map((t) => t.kind)).toEqual(['message', 'coupon_issued']);

    const first = await order(wang, '128.00', code);
    // customers type codes in any case, with stray spaces
    expect(await redeem(`  ${code.toLowerCase()} `, wang, first)).toEqual({ status: 'redeemed', deliveryId, couponId: expect.any(String), campaign: 'birthday', value: '20.00' });
    const [o] = await h.app.db.query(`SELECT attributed_delivery_id FROM shop_order WHERE id = ?`, [first]);
    expect(String(o.attributed_delivery_id)).toBe(deliveryId);
    const [c] = await h.app.db.query(`SELECT redeemed_order_id, redeemed_at FROM coupon WHERE code = ?`, [code]);
    expect([String(c.redeemed_order_id), new Date(c.redeemed_at).toISOString()]).toEqual([first, '2026-03-20T04:00:00.000Z']);

    // the same order again (a replayed webhook) is the same redemption, not a second one
    expect(await redeem(code, wang, first)).toMatchObject({ status: 'redeemed', deliveryId });
    // another order: refused, recorded, not attributed
    const second = await order(wang, '66.00', code);
    expect(await redeem(code, wang, second)).toEqual({ status: 'already_redeemed' });
    const [o2] = await h.app.db.query(`SELECT attributed_delivery_id FROM shop_order WHERE id = ?`, [second]);
    expect(o2.attributed_delivery_id).toBeNull();
    const lines = await timeline(wang);
    expect(lines.map((t) => t.kind)).toEqual(['message', 'coupon_issued', 'coupon_redeemed', 'coupon_rejected']);
    expect(lines[3]).toMatchObject({ reason: 'already_redeemed' });
    expect(lines[3].text).toContain(`already redeemed by order ${first}`);
    // the refusal is recorded once however often that order is replayed
    expect(await redeem(code, wang, second)).toEqual({ status: 'already_redeemed' });
    expect((await timeline(wang)).filter((t) => t.kind === 'coupon_rejected')).toHaveLength(1);
  });

  it('refuses another customer, a late order and an unknown code, each on the orderer’s timeline', async () => {
    const owner = await customer('李姐');
    const other = await customer('路人');
    const { code } = await issued(owner);
    expect(await redeem(code, other, await order(other, '10.00', code))).toEqual({ status: 'wrong_customer' });
    // the coupon works through 28 March store time: 29 March 00:00 Shanghai is too late
    expect(await redeem(code, owner, await order(owner, '10.00', code), expiresAt)).toEqual({ status: 'expired' });
    expect(await redeem('BDAY-NOSUCHCODE', owner, await order(owner, '10.00', 'BDAY-NOSUCHCODE'))).toEqual({ status: 'not_found' });
    expect((await timeline(other)).map((t) => t.reason)).toEqual(['wrong_customer']);
    expect((await timeline(owner)).filter((t) => t.kind === 'coupon_rejected').map((t) => t.reason)).toEqual(['expired', 'not_found']);
    // still unused: the owner can redeem it in time
    expect(await redeem(code, owner, await order(owner, '10.00', code), new Date(expiresAt.getTime() - 1))).toMatchObject({ status: 'redeemed' });
  });

  it('two orders racing for one coupon: exactly one redeems it', async () => {
    const zhang = await customer('张三');
    const { code, deliveryId } = await issued(zhang);
    const orders = await Promise.all([order(zhang, '50.00', code), order(zhang, '60.00', code), order(zhang, '70.00', code)]);
    const results = await Promise.all(orders.map((o) => redeem(code, zhang, o)));
    expect(results.filter((r) => r.status === 'redeemed')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'already_redeemed')).toHaveLength(2);
    const attributed = await h.app.db.query(`SELECT id FROM shop_order WHERE attributed_delivery_id = ?`, [deliveryId]);
    expect(attributed).toHaveLength(1);
  });
});
