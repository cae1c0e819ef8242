// POST /api/orders/import over HTTP against the real database: rows grouped into orders, per-row
// errors reported with line and field without stopping the import, idempotent on orderId, history
// triggers nothing (no coupon redemption), and the rhythm it produces (median, not mean).
import { refreshAfterOrders, storeOrder, type Order } from '../../src/orders/orders';
import { startHarness, type Harness } from '../support/harness';

const HEADER = 'orderId,placedAt,total,currency,phone,email,wecomExternalUserId,unionid,name,birthday,sku,itemName,category,quantity,price,couponCode';

function importCsv(h: Harness, csv: string, contentType = 'text/csv'): Promise<Response> {
  return h.request('/api/orders/import', { method: 'POST', headers: { 'content-type': contentType }, body: csv });
}

async function importOk(h: Harness, csv: string): Promise<any> {
  const res = await importCsv(h, csv);
  expect(res.status).toBe(200);
  return res.json();
}

const DAY = 86_400_000;

describe('POST /api/orders/import', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.app.db.query('DELETE FROM customer');
  });

  it('groups the rows of each order, reports bad rows by line and field, and imports the rest', async () => {
    const csv = [
      HEADER,
      // line 2-3: one order of two items
      'A-1,2025-01-05 10:00,120.00,CNY,13800138000,,,,王哥,1980-02-29,BEAN-1,曼特宁,coffee,1,80.00,',
      'A-1,,,,,,,,,,MUG-1,马克杯,gear,2,20,',
      // line 4: bad price → order A-2 skipped
      'A-2,2025-01-06 10:00,10.00,CNY,13800138001,,,,,,X,样品,,1,abc,',
      // line 5: no identity at all
      'A-3,2025-01-06 10:00,10.00,CNY,,,,,,,X,样品,,1,10,',
      // line 6: bad date
      'A-4,2025-13-06,10.00,CNY,13800138002,,,,,,X,样品,,1,10,',
      // line 7: missing orderId
      ',2025-01-06,10.00,CNY,13800138002,,,,,,X,样品,,1,10,',
      // line 8-9: the second row of A-5 disagrees on the total → A-5 skipped, error on line 9
      'A-5,2025-01-07,10.00,CNY,13800138003,,,,,,X,样品,,1,10,',
      'A-5,,99.00,,,,,,,,Y,样品2,,1,10,',
      // line 10: fine, by email only
      'A-6,2025-01-08T09:30:00Z,55.5,usd,,Li@Example.COM,,,,,TEA-1,龙井,tea,1,55.5,',
      // line 11: a stray A-1 row after other orders
      'A-1,,,,,,,,,,LATE-1,迟到,gear,1,1,',
      // line 12: bad birthday
      'A-7,2025-01-09,10.00,CNY,13800138004,,,,,1990-02-30,X,样品,,1,10,',
    ].join('\n');
    const r = await importOk(h, csv);
    expect(r.errors).toEqual([
      { line: 4, field: 'price', message: expect.stringMatching(/amount/) },
      { line: 5, field: 'phone', message: expect.stringMatching(/at least one of phone, email/) },
      { line: 6, field: 'placedAt', message: expect.any(String) },
      { line: 7, field: 'orderId', message: 'is required' },
      { line: 9, field: 'total', message: 'differs from line 8 of the same order' },
      { line: 11, field: 'orderId', message: expect.stringMatching(/rows of order A-1 must be together: the order began at line 2/) },
      { line: 12, field: 'birthday', message: expect.any(String) },
    ]);
    expect(r).toMatchObject({ imported: 2, skipped: 5, errorsTruncated: false });

    const orders = await h.app.db.query(`SELECT order_id, total, currency, placed_at, source FROM shop_order ORDER BY order_id`);
    expect(orders.map((o: any) => [o.order_id, o.total, o.currency, new Date(o.placed_at).toISOString(), o.source])).toEqual([
      ['A-1', '120.00', 'CNY', '2025-01-05T02:00:00.000Z', 'import'], // 10:00 store time (Asia/Shanghai)
      ['A-6', '55.50', 'USD', '2025-01-08T09:30:00.000Z', 'import'],
    ]);
    const items = await h.app.db.query(`SELECT i.line, i.sku, i.quantity, i.price FROM shop_order_item i JOIN shop_order o ON o.id = i.shop_order_id WHERE o.order_id = 'A-1' ORDER BY i.line`);
    expect(items).toEqual([
      { line: 1, sku: 'BEAN-1', quantity: 1, price: '80.00' },
      { line: 2, sku: 'MUG-1', quantity: 2, price: '20.00' },
    ]);
    const wang = await h.getJson('/api/identities/phone/13800138000');
    expect(wang).toMatchObject({ name: '王哥', birthday: '1980-02-29', stats: { orderCount: 1, totalSpent: '120.00' } });
    const tl = await h.getJson(`/api/customers/${wang.id}/timeline`);
    expect(tl.items).toEqual([expect.objectContaining({ kind: 'order', channel: 'shop', text: 'Order A-1 · CNY 120.00 · 曼特宁, 马克杯 ×2' })]);
    // nothing from the bad rows reached the database
    const [n] = await h.app.db.query(`SELECT COUNT(*) AS n FROM customer_identity WHERE external_id IN ('+8613800138001', '+8613800138002', '+8613800138003', '+8613800138004')`);
    expect(Number(n.n)).toBe(0);
  });

  it('importing the same file again stores nothing new (idempotent on orderId)', async () => {
    const csv = [HEADER, 'B-1,2025-02-01,30,CNY,13700137000,,,,,,S,豆,coffee,1,30,', 'B-2,2025-03-01,30,CNY,13700137000,,,,,,S,豆,coffee,1,30,'].join('\n');
    expect(await importOk(h, csv)).toMatchObject({ imported: 2, skipped: 0, errors: [] });
    expect(await importOk(h, csv)).toMatchObject({ imported: 0, skipped: 2, errors: [] });
    const [n] = await h.app.db.query(`SELECT COUNT(*) AS orders, (SELECT COUNT(*) FROM timeline_entry WHERE kind = 'order') AS entries FROM shop_order`);
    expect([Number(n.orders), Number(n.entries)]).toEqual([2, 2]);
    const p = await h.getJson('/api/identities/phone/13700137000');
    expect(p.stats).toMatchObject({ orderCount: 2, totalSpent: '60.00' });
  });

  it('history triggers nothing but stats, rhythm and lifecycle: a coupon code is kept on the order but not redeemed', async () => {
    const r = await importOk(h, [HEADER, 'C-1,2025-02-01,30,CNY,13600136000,,,,,,S,豆,coffee,1,30,SAVE20'].join('\n'));
    expect(r.imported).toBe(1);
    const [o] = await h.app.db.query(`SELECT customer_id, coupon_code, attributed_delivery_id FROM shop_order WHERE order_id = 'C-1'`);
    expect(o).toMatchObject({ coupon_code: 'SAVE20', attributed_delivery_id: null });
    const kinds = await h.app.db.query(`SELECT kind FROM timeline_entry WHERE customer_id = ?`, [o.customer_id]);
    expect(kinds).toEqual([{ kind: 'order' }]); // no coupon_rejected / coupon_redeemed
  });

  it('rhythm: orders every ~28 days with one 60-day pause → median gap 28 (the mean would be 33), next expected 28 days after the last', async () => {
    const start = Date.UTC(2025, 0, 1, 2); // 10:00 in Shanghai
    const gaps = [28, 27, 60, 29, 28, 28];
    const times = [start];
    for (const g of gaps) times.push(times[times.length - 1] + g * DAY);
    const rows = times.map((t, i) => `R-${i},${new Date(t).toISOString()},45,CNY,13500135000,,,,,,BEAN,耶加雪菲,coffee,1,45,`);
    // a same-day second order (a forgotten item) is not a rhythm of zero days
    rows.push(`R-extra,${new Date(times[3] + 3 * 3600_000).toISOString()},9,CNY,13500135000,,,,,,FILTER,滤纸,gear,1,9,`);
    const r = await importOk(h, [HEADER, ...rows].join('\n'));
    expect(r).toMatchObject({ imported: 8, errors: [] });
    const p = await h.getJson('/api/identities/phone/13500135000');
    const all = p.rhythm.find((x: any) => x.category === '');
    const last = times[times.length - 1];
    expect(all).toEqual({
      category: '',
      orderCount: 8,
      medianGapDays: 28,
      expectedNextAt: new Date(last + 28 * DAY).toISOString(),
      lastOrderAt: new Date(last).toISOString(),
      lastProduct: '耶加雪菲',
    });
    expect(p.rhythm.find((x: any) => x.category === 'coffee')).toMatchObject({ orderCount: 7, medianGapDays: 28, expectedNextAt: new Date(last + 28 * DAY).toISOString() });
    expect(p.rhythm.find((x: any) => x.category === 'gear')).toMatchObject({ orderCount: 1, medianGapDays: null, expectedNextAt: null, lastProduct: '滤纸' });
    // the expected date is indexed for the reorder sweep
    const [due] = await h.app.db.query(`SELECT COUNT(*) AS n FROM customer_rhythm WHERE category = '' AND expected_next_at BETWEEN ? AND ?`, [
      new Date(last + 27 * DAY),
      new Date(last + 29 * DAY),
    ]);
    expect(Number(due.n)).toBe(1);
  });

  it('an even number of gaps takes the mean of the middle two', async () => {
    const t0 = Date.UTC(2025, 5, 1);
    const rows = [0, 10, 30, 60, 100].map((d, i) => `E-${i},${new Date(t0 + d * DAY).toISOString()},1,CNY,13400134000,,,,,,S,豆,,1,1,`); // gaps 10, 20, 30, 40
    await importOk(h, [HEADER, ...rows].join('\n'));
    const p = await h.getJson('/api/identities/phone/13400134000');
    expect(p.rhythm).toEqual([expect.objectContaining({ category: '', medianGapDays: 25, expectedNextAt: new Date(t0 + 125 * DAY).toISOString() })]);
  });

  it('stats and rhythm count an order another transaction committed after this one began (locking reads, not a stale snapshot)', async () => {
    const phone = '+8613200132000';
    const order = (orderId: string, placedAt: string): Order => ({
      orderId,
      customer: { phone, email: null, wecomExternalUserId: null, unionid: null, name: null, birthday: null },
      items: [{ sku: 'S', name: '豆', category: 'coffee', quantity: 1, price: '30.00' }],
      total: '30.00',
      currency: 'CNY',
      placedAt,
      couponCode: null,
    });
    const late = h.app.db.createQueryRunner();
    await late.connect();
    await late.startTransaction();
    try {
      // this transaction reads first (its snapshot starts here) …
      await late.query(`SELECT COUNT(*) AS n FROM shop_order`);
      // … then another order of the same customer commits …
      await importOk(h, [HEADER, 'K-1,2025-02-01T02:00:00Z,30,CNY,13200132000,,,,,,S,豆,coffee,1,30,'].join('\n'));
      // … and this one stores its own
      const now = new Date();
      const stored = await storeOrder(late.manager, order('K-2', '2025-03-01T02:00:00.000Z'), { source: 'import', now });
      await refreshAfterOrders(late.manager, [stored.customerId], now, h.app.config.lifecycle);
      await late.commitTransaction();
    } finally {
      if (late.isTransactionActive) await late.rollbackTransaction();
      await late.release();
    }
    const p = await h.getJson(`/api/identities/phone/${encodeURIComponent(phone)}`);
    expect(p.stats).toMatchObject({ orderCount: 2, totalSpent: '60.00', lastOrderAt: '2025-03-01T02:00:00.000Z' });
    expect(p.rhythm.find((r: any) => r.category === '')).toMatchObject({ orderCount: 2, medianGapDays: 28 });
  });

  it('a header without a required column → 400 naming it; nothing imported', async () => {
    const res = await importCsv(h, 'orderId,placedAt,total,currency,phone,sku,quantity,price\nZ-1,2025-01-01,1,CNY,13300133000,S,1,1\n');
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toMatch(/^header: missing column itemName/);
    const [n] = await h.app.db.query(`SELECT COUNT(*) AS n FROM shop_order`);
    expect(Number(n.n)).toBe(0);
  });

  it('columns match regardless of case and order; unknown columns are ignored; a row with too many cells holds back only the order it may belong to', async () => {
    const csv = [
      'ITEMNAME,Price,Quantity,SKU,Currency,Total,PlacedAt,OrderID,Phone,note',
      '豆 12",10,1,S,CNY,10,2025-01-01,Q-1,13300133000,hello',
      '豆,10,1,S,CNY,10,2025-01-02,Q-2,13300133000,one,two',
      '豆,10,1,S,CNY,10,2025-01-03,Q-3,13300133000',
    ].join('\n');
    const r = await importOk(h, csv);
    // line 3 may have been an item of Q-1 (the order being read): Q-1 waits for a corrected file
    expect(r.errors).toEqual([
      { line: 2, field: 'row', message: 'order Q-1 not imported: line 3 could not be read and may be one of its items; fix it and import again' },
      { line: 3, field: 'row', message: expect.stringMatching(/record length/i) },
    ]);
    expect(r).toMatchObject({ imported: 1, skipped: 1 });
    const fixed = await importOk(h, csv.replace(',one,two', ',one'));
    expect(fixed).toMatchObject({ imported: 2, skipped: 1, errors: [] });
    const names = await h.app.db.query(`SELECT o.order_id, i.name FROM shop_order o JOIN shop_order_item i ON i.shop_order_id = o.id ORDER BY o.order_id`);
    expect(names).toEqual([
      { order_id: 'Q-1', name: '豆 12"' },
      { order_id: 'Q-2', name: '豆' },
      { order_id: 'Q-3', name: '豆' },
    ]);
  });

  it('refuses a body that is not CSV (415) and needs the admin token (401)', async () => {
    expect((await importCsv(h, '{}', 'application/json')).status).toBe(415);
    expect((await h.request('/api/orders/import', { method: 'POST', auth: false, headers: { 'content-type': 'text/csv' }, body: HEADER })).status).toBe(401);
  });
});
