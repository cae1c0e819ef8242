// POST /webhooks/orders over HTTP, with the worker, against the real database and Redis:
// the signature, every bad input (status, and nothing stored), idempotency, identity resolution
// (a phone first seen as a WeCom remark mobile), the timeline, order stats and rhythm.
import { createHmac } from 'node:crypto';
import { nowSeconds, startHarness, waitFor, wecomEventXml, type Harness } from '../support/harness';

const SECRET = 'orders-webhook-secret-0123456789';
const sign = (raw: string | Buffer, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

function postRaw(h: Harness, raw: string | Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${h.url}/webhooks/orders`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: raw });
}

function postOrder(h: Harness, body: unknown, opts: { secret?: string } = {}): Promise<Response> {
  const raw = JSON.stringify(body);
  return postRaw(h, raw, { 'x-touchpoint-signature': sign(raw, opts.secret) });
}

const order = (over: Record<string, unknown> = {}) => ({
  orderId: 'SO-1001',
  customer: { phone: '13900139000', name: '李姐', birthday: '1988-06-15' },
  items: [
    { sku: 'BEAN-YJ', name: '耶加雪菲 250g', category: 'coffee', quantity: 2, price: '68.00' },
    { sku: 'CUP-01', name: '手冲杯', category: 'gear', quantity: 1, price: 35 },
  ],
  total: '171.00',
  currency: 'CNY',
  placedAt: '2025-03-01T10:00:00+08:00',
  ...over,
});

async function counts(h: Harness) {
  const [row] = await h.app.db.query(
    `SELECT (SELECT COUNT(*) FROM inbound_event) AS events, (SELECT COUNT(*) FROM shop_order) AS orders, (SELECT COUNT(*) FROM customer) AS customers`,
  );
  return { events: Number(row.events), orders: Number(row.orders), customers: Number(row.customers) };
}

async function allProcessed(h: Harness): Promise<void> {
  await waitFor(async () => {
    const [row] = await h.app.db.query(`SELECT COUNT(*) AS n FROM inbound_event WHERE status <> 'processed'`);
    return Number(row.n) === 0;
  }, 10_000, 'every inbound event processed');
}

async function errorOf(res: Response) {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return { status: res.status, ...body.error };
}

describe('POST /webhooks/orders', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ worker: true, env: { ORDERS_WEBHOOK_SECRET: SECRET } });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.app.db.query('DELETE FROM inbound_event');
    await h.app.db.query('DELETE FROM customer');
  });

  describe('signature', () => {
    it('a good signature is accepted (202) and the order is stored and processed', async () => {
      const res = await postOrder(h, order());
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ accepted: true, duplicate: false, eventId: expect.any(String) });
      await allProcessed(h);
      expect(await counts(h)).toEqual({ events: 1, orders: 1, customers: 1 });
    });

    it.each([
      ['missing', {}, 'missing_signature'],
      ['signed with another secret', { 'x-touchpoint-signature': sign(JSON.stringify(order()), 'another-secret-0123456789') }, 'bad_signature'],
      ['not sha256=<hex>', { 'x-touchpoint-signature': 'sha256=zz' }, 'bad_signature'],
      ['bare hex without the sha256= prefix', { 'x-touchpoint-signature': sign(JSON.stringify(order())).slice(7) }, 'bad_signature'],
      ['of a different body', { 'x-touchpoint-signature': sign(JSON.stringify(order({ total: '1.00' }))) }, 'bad_signature'],
    ])('%s → 401, nothing stored', async (_name, headers, code) => {
      const res = await postRaw(h, JSON.stringify(order()), headers as Record<string, string>);
      expect(await errorOf(res)).toMatchObject({ status: 401, code });
      expect(await counts(h)).toEqual({ events: 0, orders: 0, customers: 0 });
    });

    it('the upper-case hex form of the right signature is accepted', async () => {
      const raw = JSON.stringify(order({ orderId: 'SO-UPPER' }));
      const res = await postRaw(h, raw, { 'x-touchpoint-signature': `sha256=${sign(raw).slice(7).toUpperCase()}` });
      expect(res.status).toBe(202);
    });
  });

  describe('bad input → 400 naming the field, nothing stored', () => {
    const cases: [string, unknown, string][] = [
      ['orderId missing', order({ orderId: undefined }), 'orderId'],
      ['orderId blank', order({ orderId: '  ' }), 'orderId'],
      ['orderId too long', order({ orderId: 'x'.repeat(65) }), 'orderId'],
      ['customer missing', order({ customer: undefined }), 'customer'],
      ['customer without any identity', order({ customer: { name: '李姐' } }), 'customer'],
      ['phone that is no phone', order({ customer: { phone: 'call me' } }), 'customer.phone'],
      ['email that is no email', order({ customer: { email: 'li@' } }), 'customer.email'],
      ['birthday that is no date (2023-02-29)', order({ customer: { phone: '13900139000', birthday: '2023-02-29' } }), 'customer.birthday'],
      ['items not an array', order({ items: 'beans' }), 'items'],
      ['no items', order({ items: [] }), 'items'],
      ['item without sku', order({ items: [{ name: 'x', quantity: 1, price: 1 }] }), 'items[0].sku'],
      ['quantity 0', order({ items: [{ sku: 'A', name: 'x', quantity: 0, price: 1 }] }), 'items[0].quantity'],
      ['quantity 1.5', order({ items: [{ sku: 'A', name: 'x', quantity: 1.5, price: 1 }] }), 'items[0].quantity'],
      ['negative price', order({ items: [{ sku: 'A', name: 'x', quantity: 1, price: -1 }] }), 'items[0].price'],
      ['second item bad', order({ items: [{ sku: 'A', name: 'x', quantity: 1, price: 1 }, { sku: 'B', name: 'y', quantity: 1, price: '1.999' }] }), 'items[1].price'],
      ['total with three decimals', order({ total: '12.345' }), 'total'],
      ['total missing', order({ total: undefined }), 'total'],
      ['currency not ISO 4217', order({ currency: 'RMB¥' }), 'currency'],
      ['placedAt not a date', order({ placedAt: 'yesterday' }), 'placedAt'],
      ['placedAt 31 February', order({ placedAt: '2025-02-31T10:00:00Z' }), 'placedAt'],
      ['couponCode not a string', order({ couponCode: { code: 'X' } }), 'couponCode'],
      ['a JSON array', [order()], 'body'],
    ];
    it.each(cases)('%s', async (_name, body, field) => {
      const res = await postOrder(h, body);
      const err = await errorOf(res);
      expect(err.status).toBe(400);
      expect(err.message.startsWith(`${field}: `)).toBe(true);
      expect(await counts(h)).toEqual({ events: 0, orders: 0, customers: 0 });
    });

    it('invalid JSON (correctly signed) → 400', async () => {
      const raw = '{"orderId": "SO-1",';
      expect(await errorOf(await postRaw(h, raw, { 'x-touchpoint-signature': sign(raw) }))).toMatchObject({ status: 400, message: 'body: is not valid JSON' });
      expect(await counts(h)).toEqual({ events: 0, orders: 0, customers: 0 });
    });

    it('a body over 1 MB → 413', async () => {
      const raw = JSON.stringify(order({ padding: 'x'.repeat(1024 * 1024) }));
      const res = await postRaw(h, raw, { 'x-touchpoint-signature': sign(raw) });
      expect(res.status).toBe(413);
      expect(await counts(h)).toEqual({ events: 0, orders: 0, customers: 0 });
    });
  });

  it('the same order twice → one order, one timeline entry; the second post says duplicate', async () => {
    const first = await postOrder(h, order());
    const second = await postOrder(h, order());
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(await second.json()).toMatchObject({ duplicate: true });
    await allProcessed(h);
    expect(await counts(h)).toEqual({ events: 1, orders: 1, customers: 1 });
    const [c] = await h.app.db.query(`SELECT id FROM customer`);
    const entries = await h.app.db.query(`SELECT text FROM timeline_entry WHERE customer_id = ? AND kind = 'order'`, [c.id]);
    expect(entries).toHaveLength(1);
  });

  it('a new customer: created from the order with name and birthday; timeline shows total and products; stats and rhythm', async () => {
    // placed two days ago (a customer first seen then is 'new'), written in store time without a zone
    const placed = new Date(Math.floor(Date.now() / 1000) * 1000 - 2 * 86_400_000);
    const local = new Date(placed.getTime() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
    const at = placed.toISOString();
    expect((await postOrder(h, order({ placedAt: local }))).status).toBe(202);
    await allProcessed(h);
    const p = await h.getJson('/api/identities/phone/13900139000');
    expect(p).toMatchObject({ name: '李姐', birthday: '1988-06-15', phone: '+8613900139000', lifecycleStage: 'new' });
    expect(p.stats).toMatchObject({ orderCount: 1, totalSpent: '171.00', lastOrderAt: at, firstSeenAt: at });
    expect(p.rhythm).toEqual([
      { category: '', orderCount: 1, medianGapDays: null, expectedNextAt: null, lastOrderAt: at, lastProduct: '耶加雪菲 250g' },
      { category: 'coffee', orderCount: 1, medianGapDays: null, expectedNextAt: null, lastOrderAt: at, lastProduct: '耶加雪菲 250g' },
      { category: 'gear', orderCount: 1, medianGapDays: null, expectedNextAt: null, lastOrderAt: at, lastProduct: '手冲杯' },
    ]);
    const tl = await h.getJson(`/api/customers/${p.id}/timeline`);
    expect(tl.items).toEqual([
      expect.objectContaining({ channel: 'shop', direction: 'in', kind: 'order', text: 'Order SO-1001 · CNY 171.00 · 耶加雪菲 250g ×2, 手冲杯', occurredAt: at }),
    ]);
    const [row] = await h.app.db.query(`SELECT o.total, o.currency, o.source, o.inbound_event_id, COUNT(i.id) AS items FROM shop_order o JOIN shop_order_item i ON i.shop_order_id = o.id GROUP BY o.id`);
    expect(row).toMatchObject({ total: '171.00', currency: 'CNY', source: 'webhook' });
    expect(Number(row.items)).toBe(2);
    expect(row.inbound_event_id).not.toBeNull();
  });

  it('an order whose phone was first seen as a WeCom remark mobile lands on that customer; names they have are kept', async () => {
    const EXT = 'wmEXT0000000000000000000ORD01';
    h.fake.contacts.set(EXT, {
      external_contact: { external_userid: EXT, name: '王哥', type: 1 },
      follow_user: [{ userid: 'zhangsan', remark: '王哥', createtime: nowSeconds() - 3600, remark_mobiles: ['138 0013 8000'], tags: [] }],
    } as any);
    const cb = await h.sendCallback(
      wecomEventXml({ FromUserName: 'sys', CreateTime: nowSeconds() - 60, MsgType: 'event', Event: 'change_external_contact', ChangeType: 'add_external_contact', UserID: 'zhangsan', ExternalUserID: EXT }),
    );
    expect(cb.status).toBe(200);
    await allProcessed(h);
    const wecomCustomer = await h.getJson(`/api/identities/wecom/${EXT}`);

    const res = await postOrder(h, order({ orderId: 'SO-2001', customer: { phone: '+86 138-0013-8000', name: '王建国', birthday: '--09-01', email: 'Wang@Example.com' } }));
    expect(res.status).toBe(202);
    await allProcessed(h);
    expect((await counts(h)).customers).toBe(1);
    const p = await h.getJson(`/api/customers/${wecomCustomer.id}`);
    expect(p).toMatchObject({ name: '王哥', birthday: '--09-01', email: 'wang@example.com' });
    expect(p.stats.orderCount).toBe(1);
    expect(p.identities).toEqual(expect.arrayContaining([{ channel: 'email', externalId: 'wang@example.com' }]));
  });

  it('orders of one customer arriving together are all counted (stats and rhythm)', async () => {
    const posts = Array.from({ length: 6 }, (_, i) =>
      postOrder(h, order({ orderId: `SO-P${i}`, placedAt: new Date(Date.UTC(2025, 0, 1 + i * 14, 2)).toISOString(), total: '10.00' })),
    );
    for (const res of await Promise.all(posts)) expect(res.status).toBe(202);
    await allProcessed(h);
    const p = await h.getJson('/api/identities/phone/13900139000');
    expect(p.stats).toMatchObject({ orderCount: 6, totalSpent: '60.00', lastOrderAt: new Date(Date.UTC(2025, 0, 71, 2)).toISOString() });
    expect(p.rhythm.find((r: any) => r.category === '')).toMatchObject({ orderCount: 6, medianGapDays: 14 });
  });

  it('a coupon code on a live order is passed to coupon redemption (unknown code: refused and recorded)', async () => {
    expect((await postOrder(h, order({ orderId: 'SO-C1', couponCode: 'NOPE-123' }))).status).toBe(202);
    await allProcessed(h);
    const [o] = await h.app.db.query(`SELECT customer_id, coupon_code, attributed_delivery_id FROM shop_order WHERE order_id = 'SO-C1'`);
    expect(o).toMatchObject({ coupon_code: 'NOPE-123', attributed_delivery_id: null });
    const kinds = (await h.app.db.query(`SELECT kind, JSON_UNQUOTE(JSON_EXTRACT(data, '$.coupon.status')) AS coupon FROM timeline_entry WHERE customer_id = ? ORDER BY id`, [o.customer_id])) as any[];
    expect(kinds).toEqual([
      { kind: 'coupon_rejected', coupon: null },
      { kind: 'order', coupon: 'not_found' },
    ]);
  });
});

describe('POST /webhooks/orders without ORDERS_WEBHOOK_SECRET', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('answers 404 "orders webhook off" and stores nothing', async () => {
    const res = await postOrder(h, order());
    expect(await errorOf(res)).toEqual({ status: 404, code: 'not_found', message: 'orders webhook off' });
    expect(await counts(h)).toEqual({ events: 0, orders: 0, customers: 0 });
  });
});
