// Coupons at the till, over HTTP against the real database: POST /api/coupons/validate answers each
// reason (unknown, expired, redeemed, wrong customer, below minimum spend) and reads codes the way
// people type them (case, spaces, dashes, O for 0, I/L for 1); POST /api/coupons/redeem is idempotent
// on the shop's order id, refuses a second order, and the order arriving later through the webhook is
// the same redemption and is attributed to the coupon's delivery. Every bad input is a 400 naming the field.
import { createHmac } from 'node:crypto';
import { issueCoupons } from '../../src/outreach/coupons';
import { createDelivery } from '../../src/sending/deliveries';
import { inTransaction } from '../../src/platform/tx';
import { startHarness, waitFor, type Harness } from '../support/harness';

const SECRET = 'orders-webhook-secret-0123456789';

describe('coupons at the till', () => {
  let h: Harness;
  let now = new Date('2026-03-20T04:00:00Z');
  beforeAll(async () => {
    h = await startHarness({ worker: true, now: () => now, env: { ORDERS_WEBHOOK_SECRET: SECRET } });
  });
  afterAll(() => h.close());

  const t0 = new Date('2026-03-15T02:00:00Z');
  const expiresAt = new Date('2026-03-28T16:00:00Z');
  let seq = 0;

  async function customer(name: string, phone: string): Promise<string> {
    const res = await h.app.db.query(`INSERT INTO customer (name, phone, first_seen_at, created_at, updated_at, churn_risk) VALUES (?, ?, ?, ?, ?, 0)`, [name, phone, t0, t0, t0]);
    const id = String(res.insertId);
    await h.app.db.query(`INSERT INTO customer_identity (customer_id, channel, external_id, created_at) VALUES (?, 'phone', ?, ?)`, [id, phone, t0]);
    return id;
  }
  async function issued(customerId: string, code: string, minSpend: string | null = null): Promise<string> {
    return inTransaction(h.app.db, async (em) => {
      const d = await createDelivery(
        em,
        { customerId, channel: 'sms', provider: 'tencent', purpose: 'birthday', marketing: true, idempotencyKey: `birthday:${customerId}:${++seq}`, toAddress: '+8613800000000', content: { text: `券 ${code}` } },
        t0,
      );
      await issueCoupons(em, [{ code, deliveryId: d.id, customerId, campaign: 'birthday', value: '20.00', minSpend, expiresAt, lastValidDay: '2026-03-28' }], t0);
      return d.id;
    });
  }
  const post = (path: string, body: unknown) => h.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const validate = async (body: unknown) => {
    const res = await post('/api/coupons/validate', body);
    return { status: res.status, body: (await res.json()) as any };
  };
  const redeem = async (body: unknown) => {
    const res = await post('/api/coupons/redeem', body);
    return { status: res.status, body: (await res.json()) as any };
  };

  it('answers valid, and each reason it is not — reading codes as people type them', async () => {
    now = new Date('2026-03-20T04:00:00Z');
    const li = await customer('李姐', '+8613900000001');
    await customer('路人', '+8613900000002');
    await issued(li, 'BDAY-01ABCDEFGH', '100.00');
    const liAt = { phone: '13900000001' };
    const good = { valid: true, value: '20.00', expiresAt: expiresAt.toISOString(), minSpend: '100.00' };
    // exact, lower-case with spaces and dashes, O for 0, I and L for 1
    for (const code of ['BDAY-01ABCDEFGH', ' bday 01abcd-efgh ', 'BDAYO1ABCDEFGH', 'bday-0iabcdefgh', 'BDAY—0LABCDEFGH']) {
      expect({ code, ...(await validate({ code, customer: liAt, total: '128.00' })) }).toEqual({ code, status: 200, body: good });
    }
    expect(await validate({ code: 'BDAY-NOSUCHCODE', customer: liAt, total: 128 })).toEqual({
      status: 200,
      body: { valid: false, reason: 'unknown', value: null, expiresAt: null, minSpend: null },
    });
    expect((await validate({ code: 'BDAY-01ABCDEFGH', customer: liAt, total: '99.99' })).body).toEqual({ ...good, valid: false, reason: 'below_minimum_spend' });
    // another customer's phone, and a phone we do not know
    expect((await validate({ code: 'BDAY-01ABCDEFGH', customer: { phone: '13900000002' }, total: '128.00' })).body).toMatchObject({ valid: false, reason: 'wrong_customer' });
    expect((await validate({ code: 'BDAY-01ABCDEFGH', customer: { phone: '13900000099' }, total: '128.00' })).body).toMatchObject({ valid: false, reason: 'wrong_customer' });
    // the last instant of 28 March (Shanghai) still works; its end does not
    now = new Date(expiresAt.getTime() - 1);
    expect((await validate({ code: 'BDAY-01ABCDEFGH', customer: liAt, total: '128.00' })).body).toEqual(good);
    now = expiresAt;
    expect((await validate({ code: 'BDAY-01ABCDEFGH', customer: liAt, total: '128.00' })).body).toMatchObject({ valid: false, reason: 'expired' });
    // validation writes nothing
    const [c] = await h.app.db.query(`SELECT redeemed_at FROM coupon WHERE code = 'BDAY-01ABCDEFGH'`);
    expect(c.redeemed_at).toBeNull();
  });

  it('redeems once per order id; a second order is refused; the order arriving later is attributed', async () => {
    now = new Date('2026-03-20T04:00:00Z');
    const wang = await customer('王哥', '+8613900000003');
    const deliveryId = await issued(wang, 'BDAY-ZZ11ABCDEF', '50.00');
    const ask = { code: 'bday zz ll abcdef', customer: { phone: '+86 139 0000 0003' }, total: '88.00' };
    expect(await redeem({ ...ask, orderId: 'T-1', total: '49.00' })).toEqual({
      status: 409,
      body: { error: { code: 'coupon_below_minimum_spend', message: expect.stringContaining('minimum spend') } },
    });
    expect(await redeem({ ...ask, customer: { phone: '13900000098' }, orderId: 'T-3' })).toMatchObject({ status: 409, body: { error: { code: 'coupon_wrong_customer' } } });
    const ok = { status: 200, body: { redeemed: true, orderId: 'T-1', value: '20.00', campaign: 'birthday' } };
    expect(await redeem({ ...ask, orderId: 'T-1' })).toEqual(ok);
    expect(await redeem({ ...ask, orderId: 'T-1' })).toEqual(ok);
    expect(await redeem({ ...ask, orderId: 'T-2' })).toEqual({ status: 409, body: { error: { code: 'coupon_redeemed', message: expect.any(String) } } });
    expect((await validate(ask)).body).toMatchObject({ valid: false, reason: 'redeemed' });
    expect(await redeem({ ...ask, code: 'NOPE-1234', orderId: 'T-3' })).toMatchObject({ status: 409, body: { error: { code: 'coupon_unknown' } } });
    const [c] = await h.app.db.query(`SELECT redeemed_order_ref, redeemed_order_id, redeemed_at FROM coupon WHERE code = 'BDAY-ZZ11ABCDEF'`);
    expect([c.redeemed_order_ref, c.redeemed_order_id, new Date(c.redeemed_at).toISOString()]).toEqual(['T-1', null, now.toISOString()]);

    // the shop's order T-1 arrives afterwards, without the code: the same redemption, attributed
    const raw = JSON.stringify({
      orderId: 'T-1',
      customer: { phone: '13900000003' },
      items: [{ sku: 'BEAN', name: '耶加雪菲', category: 'coffee', quantity: 1, price: '88.00' }],
      total: '88.00',
      currency: 'CNY',
      placedAt: '2026-03-20T12:00:00+08:00',
    });
    const res = await fetch(`${h.url}/webhooks/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-touchpoint-signature': `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}` },
      body: raw,
    });
    expect(res.status).toBe(202);
    const order = await waitFor(async () => (await h.app.db.query(`SELECT id, attributed_delivery_id FROM shop_order WHERE order_id = 'T-1'`))[0]);
    expect(String(order.attributed_delivery_id)).toBe(deliveryId);
    const [after] = await h.app.db.query(`SELECT redeemed_order_id FROM coupon WHERE code = 'BDAY-ZZ11ABCDEF'`);
    expect(String(after.redeemed_order_id)).toBe(String(order.id));
    const kinds = (await h.app.db.query(`SELECT kind FROM timeline_entry WHERE customer_id = ? ORDER BY id`, [wang])).map((r: any) => r.kind);
    expect(kinds.filter((k: string) => k === 'coupon_redeemed')).toHaveLength(1);
  });

  it('refuses bad input with a 400 naming the field, and writes nothing', async () => {
    const cases: [unknown, string][] = [
      [{ customer: { phone: '13900000001' }, total: '10.00' }, 'code'],
      [{ code: '   ', customer: { phone: '13900000001' }, total: '10.00' }, 'code'],
      [{ code: 'X'.repeat(65), customer: { phone: '13900000001' }, total: '10.00' }, 'code'],
      [{ code: 'BDAY-01ABCDEFGH', total: '10.00' }, 'customer'],
      [{ code: 'BDAY-01ABCDEFGH', customer: {}, total: '10.00' }, 'customer'],
      [{ code: 'BDAY-01ABCDEFGH', customer: { phone: 'not a phone' }, total: '10.00' }, 'customer.phone'],
      [{ code: 'BDAY-01ABCDEFGH', customer: { phone: '13900000001' } }, 'total'],
      [{ code: 'BDAY-01ABCDEFGH', customer: { phone: '13900000001' }, total: '-3' }, 'total'],
    ];
    for (const [body, field] of cases) {
      for (const path of ['/api/coupons/validate', '/api/coupons/redeem']) {
        const res = await post(path, { orderId: 'T-9', ...(body as object) });
        const err = ((await res.json()) as any).error;
        expect({ path, field, status: res.status, message: err.message }).toEqual({ path, field, status: 400, message: expect.stringContaining(field) });
      }
    }
    const res = await post('/api/coupons/redeem', { code: 'BDAY-01ABCDEFGH', customer: { phone: '13900000001' }, total: '10.00' });
    expect([res.status, ((await res.json()) as any).error.message]).toEqual([400, expect.stringContaining('orderId')]);
    const notJson = await h.request('/api/coupons/validate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(notJson.status).toBe(400);
    const unauth = await h.request('/api/coupons/validate', { method: 'POST', auth: false, body: '{}' });
    expect(unauth.status).toBe(401);
    const [{ n }] = await h.app.db.query(`SELECT COUNT(*) AS n FROM coupon WHERE redeemed_order_ref = 'T-9'`);
    expect(Number(n)).toBe(0);
  });
});
