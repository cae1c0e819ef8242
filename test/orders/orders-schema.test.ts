// The orders migration and its entities agree: every new column round-trips through TypeORM
// with its declared type, and the generated columns (birthday_md, last_activity_at) follow their sources.
import { Customer, CustomerRhythm, ShopOrder, ShopOrderItem } from '../../entities';
import { startHarness, type Harness } from '../support/harness';

describe('orders schema', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  test('customer, shop_order, shop_order_item and customer_rhythm round-trip through the entities', async () => {
    const db = h.app.db;
    const t0 = new Date('2025-01-02T03:04:05.678Z');
    const customers = db.getRepository(Customer);
    const saved = await customers.save(
      customers.create({
        name: '王哥',
        birthday: '1990-02-29',
        notes: '喜欢深烘',
        firstSeenAt: t0,
        createdAt: t0,
        updatedAt: t0,
        orderCount: 3,
        totalSpent: '1234.50',
        lastOrderAt: new Date('2025-03-01T00:00:00.001Z'),
        lastInboundAt: new Date('2025-04-01T10:00:00.250Z'),
        lifecycleStage: 'active',
        dormantSince: new Date('2025-07-01T00:00:00.000Z'),
        rfmR: 5,
        rfmF: 4,
        rfmM: 3,
      }),
    );
    const c = await customers.findOneByOrFail({ id: saved.id });
    expect(c).toMatchObject({
      birthday: '1990-02-29',
      birthdayMd: '02-29',
      notes: '喜欢深烘',
      orderCount: 3,
      totalSpent: '1234.50',
      lifecycleStage: 'active',
      rfmR: 5,
      rfmF: 4,
      rfmM: 3,
    });
    expect(c.lastOrderAt?.toISOString()).toBe('2025-03-01T00:00:00.001Z');
    expect(c.lastInboundAt?.toISOString()).toBe('2025-04-01T10:00:00.250Z');
    expect(c.lastActivityAt.toISOString()).toBe('2025-04-01T10:00:00.250Z');
    expect(c.dormantSince?.toISOString()).toBe('2025-07-01T00:00:00.000Z');

    // the generated columns follow their sources on update
    await customers.update({ id: c.id }, { birthday: '--12-31', lastOrderAt: new Date('2025-05-05T05:05:05.005Z') });
    const c2 = await customers.findOneByOrFail({ id: c.id });
    expect(c2.birthdayMd).toBe('12-31');
    expect(c2.lastActivityAt.toISOString()).toBe('2025-05-05T05:05:05.005Z');
    // a brand-new customer: defaults, and last activity = first seen
    const fresh = await customers.save(customers.create({ firstSeenAt: t0, createdAt: t0, updatedAt: t0 }));
    const f = await customers.findOneByOrFail({ id: fresh.id });
    expect(f).toMatchObject({ lifecycleStage: 'new', orderCount: 0, totalSpent: '0.00', birthdayMd: null, rfmR: null, dormantSince: null });
    expect(f.lastActivityAt.toISOString()).toBe(t0.toISOString());

    const orders = db.getRepository(ShopOrder);
    const o = await orders.save(
      orders.create({ orderId: 'SO-1', customerId: c.id, total: '99.90', currency: 'CNY', placedAt: t0, couponCode: 'TP-ABC', attributedDeliveryId: null, source: 'import', inboundEventId: null, createdAt: t0 }),
    );
    expect(await orders.findOneByOrFail({ id: o.id })).toMatchObject({ orderId: 'SO-1', customerId: c.id, total: '99.90', currency: 'CNY', couponCode: 'TP-ABC', source: 'import', placedAt: t0 });
    // status and refunds: net_total is generated (total − refunded; 0 once refunded or cancelled)
    expect(await orders.findOneByOrFail({ id: o.id })).toMatchObject({ status: 'paid', refundedAmount: '0.00', netTotal: '99.90' });
    await db.query(`UPDATE shop_order SET status = 'partially_refunded', refunded_amount = '30.00' WHERE id = ?`, [o.id]);
    expect(await orders.findOneByOrFail({ id: o.id })).toMatchObject({ status: 'partially_refunded', netTotal: '69.90' });
    await db.query(`UPDATE shop_order SET status = 'cancelled' WHERE id = ?`, [o.id]);
    expect(await orders.findOneByOrFail({ id: o.id })).toMatchObject({ netTotal: '0.00' });
    await expect(orders.insert({ orderId: 'SO-1', customerId: c.id, total: '1.00', currency: 'CNY', placedAt: t0, createdAt: t0 })).rejects.toThrow(/Duplicate/);

    const items = db.getRepository(ShopOrderItem);
    await items.save(items.create({ shopOrderId: o.id, line: 1, sku: 'BEAN-1', name: '耶加雪菲', category: 'coffee', quantity: 2, price: '49.95' }));
    expect(await items.findOneByOrFail({ shopOrderId: o.id, line: 1 })).toMatchObject({ sku: 'BEAN-1', category: 'coffee', quantity: 2, price: '49.95' });

    const rhythms = db.getRepository(CustomerRhythm);
    await rhythms.save(
      rhythms.create({ customerId: c.id, category: '', sku: '', orderCount: 3, lastOrderAt: t0, lastOrderId: o.id, lastProduct: '耶加雪菲', medianGapDays: '28.00', expectedNextAt: new Date('2025-01-30T03:04:05.678Z'), updatedAt: t0 }),
    );
    const r = await rhythms.findOneByOrFail({ customerId: c.id, category: '' });
    expect(r).toMatchObject({ orderCount: 3, lastOrderId: o.id, lastProduct: '耶加雪菲', medianGapDays: '28.00' });
    expect(r.expectedNextAt?.toISOString()).toBe('2025-01-30T03:04:05.678Z');

    // deleting the customer takes their orders, items and rhythm with them
    await customers.delete({ id: c.id });
    expect(await orders.countBy({ customerId: c.id })).toBe(0);
    expect(await items.countBy({ shopOrderId: o.id })).toBe(0);
    expect(await rhythms.countBy({ customerId: c.id })).toBe(0);
  });

  test('the sweeps find their rows through the indexes the migration adds', async () => {
    const plan = async (sql: string) => ((await h.app.db.query(`EXPLAIN ${sql}`)) as { key: string | null }[]).map((r) => r.key);
    expect(await plan(`SELECT id FROM customer WHERE birthday_md IN ('02-28', '02-29')`)).toContain('idx_customer_birthday_md');
    expect(await plan(`SELECT id FROM customer WHERE dormant_since = '2025-01-01'`)).toContain('idx_customer_dormant_since');
    expect(await plan(`SELECT id FROM customer WHERE lifecycle_stage = 'active' AND last_activity_at < '2025-01-01'`)).toContain('idx_customer_stage_activity');
    expect(await plan(`SELECT customer_id FROM customer_rhythm WHERE category = '' AND expected_next_at < '2025-01-01'`)).toContain('idx_customer_rhythm_expected');
    expect(await plan(`SELECT customer_id FROM customer_rhythm WHERE drives = 1 AND expected_next_at BETWEEN '2024-12-01' AND '2025-01-01'`)).toContain('idx_customer_rhythm_due');
  });
});
