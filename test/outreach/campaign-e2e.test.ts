// Campaigns end to end, with the worker, the orders webhook and a local SMS provider (Tencent fake),
// at a fixed store time (10:00 in Shanghai, outside quiet hours):
//  - a customer whose birthday is today gets exactly one greeting with a coupon through the first
//    allowed channel, even when the sweep runs twice; redeeming the coupon with an order attributes
//    it in the report, and a second use is refused (and on the timeline);
//  - one who opted out of SMS and has no WeCom relation gets an email or nothing, never an SMS;
//  - a customer who buys every ~28 days and is 5 days overdue gets a reorder nudge naming the product.
import { createHmac } from 'node:crypto';
import type { CampaignConfig } from '../../src/outreach/campaigns';
import { startFakeTencentSms, type FakeTencentSms } from '../fakes/tencent-sms.fake';
import { startHarness, waitFor, type Harness } from '../support/harness';
import { startFakeSmtp, type FakeSmtp } from '../fakes/smtp.fake';

const SECRET = 'orders-webhook-secret-0123456789';
const DAY = 86_400_000;

const birthday: CampaignConfig = {
  enabled: true,
  channels: ['wecom', 'sms', 'email'],
  templates: {
    wecom: { text: '{{name}}，生日快乐！送您{{coupon.value}}元券 {{coupon.code}}' },
    sms: { templateId: '1110001', signName: '咖啡小店', params: ['{{name}}', '{{coupon.value}}', '{{coupon.code}}', '{{coupon.expiresAt}}'] },
    email: { subject: '{{name}}，生日快乐', text: '{{name}}，生日快乐！{{store}}送您{{coupon.value}}元券 {{coupon.code}}' },
  },
  coupon: { value: 20, validDays: 14, prefix: 'BDAY-' },
  sendAt: '10:00',
  params: {},
};
const reorder: CampaignConfig = {
  enabled: true,
  channels: ['wecom', 'sms'],
  templates: {
    wecom: { text: '{{name}}，{{lastProduct}}该补货了' },
    sms: { templateId: '2220002', signName: '咖啡小店', params: ['{{name}}', '{{lastProduct}}', '{{coupon.code}}'] },
  },
  coupon: { value: 10, validDays: 7, prefix: 'RE-' },
  sendAt: '10:00',
  params: { graceDays: 3 },
};

describe('campaigns end to end', () => {
  let h: Harness;
  let sms: FakeTencentSms;
  let smtp: FakeSmtp;
  let now = new Date('2026-03-15T02:00:00Z'); // 10:00 on 15 March in Shanghai
  beforeAll(async () => {
    sms = await startFakeTencentSms();
    smtp = await startFakeSmtp({ from: '"咖啡小店" <hello@shop.example>' });
    // the shop's approved templates (id → number of params) at the provider
    sms.templates.set('1110001', 4);
    sms.templates.set('2220002', 3);
    h = await startHarness({
      worker: true,
      now: () => now,
      env: {
        ORDERS_WEBHOOK_SECRET: SECRET,
        STORE_NAME: '咖啡小店',
        ...sms.env(),
        ...smtp.env(),
        PUBLIC_BASE_URL: 'https://crm.shop.example',
        UNSUBSCRIBE_SECRET: 'unsubscribe-secret-for-tests-0123456789',
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await sms.close();
    await smtp.close();
  });

  const api = (method: string, path: string, body?: unknown) =>
    h.request(path, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  async function postOrder(body: Record<string, unknown>): Promise<void> {
    const raw = JSON.stringify(body);
    const res = await fetch(`${h.url}/webhooks/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-touchpoint-signature': `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}` },
      body: raw,
    });
    expect(res.status).toBe(202);
    await waitFor(async () => Number((await h.app.db.query(`SELECT COUNT(*) AS n FROM inbound_event WHERE status <> 'processed'`))[0].n) === 0, 10_000, 'orders processed');
  }
  const item = (name: string, price: string) => ({ sku: name, name, category: 'coffee', quantity: 1, price });
  const customerByPhone = async (phone: string) => (await h.getJson(`/api/identities/phone/${encodeURIComponent(phone)}`)).id as string;

  it('birthday: one greeting with a coupon through the first allowed channel, however often the sweep runs; the coupon’s order is attributed', async () => {
    // the shop knows them from their orders (with birthdays from membership sign-up)
    await postOrder({ orderId: 'SO-1', customer: { phone: '13800138001', name: '王哥', birthday: '1988-03-15' }, items: [item('耶加雪菲 250g', '68.00')], total: '68.00', currency: 'CNY', placedAt: '2026-01-10T15:00:00+08:00' });
    await postOrder({ orderId: 'SO-2', customer: { phone: '13800138002', email: 'zhou@example.com', name: '老周', birthday: '--03-15' }, items: [item('挂耳咖啡', '39.00')], total: '39.00', currency: 'CNY', placedAt: '2026-01-11T15:00:00+08:00' });
    await postOrder({ orderId: 'SO-3', customer: { phone: '13800138003', name: '小陈', birthday: '1995-03-15' }, items: [item('燕麦奶', '25.00')], total: '25.00', currency: 'CNY', placedAt: '2026-01-12T15:00:00+08:00' });
    const wang = await customerByPhone('+8613800138001');
    const zhou = await customerByPhone('+8613800138002');
    const chen = await customerByPhone('+8613800138003');
    // 老周 and 小陈 replied 退订 to an SMS some time ago
    for (const id of [zhou, chen]) expect((await api('PUT', `/api/customers/${id}/consents/sms`, { status: 'opted_out', actor: 'test' })).status).toBe(200);

    expect((await api('PUT', '/api/campaigns/birthday', birthday)).status).toBe(200);
    // the preview first: who gets what, who is skipped and why
    const dry = (await (await api('POST', '/api/campaigns/birthday/run?date=2026-03-15&dryRun=1')).json()) as any;
    expect(dry.send.map((s: any) => [s.customerId, s.channel]).sort()).toEqual([[wang, 'sms'], [zhou, 'email']].sort());
    expect(dry.skip).toEqual([{ customerId: chen, idempotencyKey: `birthday:${chen}:2026`, reason: 'opted_out' }]);

    // the sweep runs twice (the daily job and someone pressing "run")
    const runs = await Promise.all([api('POST', '/api/campaigns/birthday/run?date=2026-03-15'), api('POST', '/api/campaigns/birthday/run?date=2026-03-15')]);
    const results = (await Promise.all(runs.map((r) => r.json()))) as any[];
    expect(results.map((r) => r.created).sort()).toEqual([0, 2]);

    // exactly one SMS, to 王哥, with his coupon
    const [coupon] = await h.app.db.query(`SELECT code, delivery_id FROM coupon WHERE customer_id = ?`, [wang]);
    await waitFor(async () => sms.sent.length >= 1, 10_000, 'the SMS at the provider');
    const delivery = await waitFor(async () => {
      const d = await h.getJson(`/api/deliveries/${coupon.delivery_id}`);
      return d.status === 'sent' ? d : null;
    }, 10_000, 'the greeting sent');
    expect(delivery).toMatchObject({ channel: 'sms', purpose: 'birthday', to: '+8613800138001' });
    await new Promise((r) => setTimeout(r, 500));
    expect(sms.sent).toEqual([expect.objectContaining({ phone: '+8613800138001', templateId: '1110001', params: ['王哥', '20', coupon.code, '2026-03-28'] })]);
    // 老周 (no SMS, no WeCom): an email — never an SMS; 小陈 (no email): nothing
    const [zhouDelivery] = await h.app.db.query(`SELECT channel, to_address FROM delivery WHERE customer_id = ?`, [zhou]);
    expect(zhouDelivery).toEqual({ channel: 'email', to_address: 'zhou@example.com' });
    expect(await h.app.db.query(`SELECT id FROM delivery WHERE customer_id = ?`, [chen])).toEqual([]);

    // two days later 王哥 orders with the code: the order is attributed to the greeting
    now = new Date('2026-03-17T04:00:00Z');
    await postOrder({ orderId: 'SO-10', customer: { phone: '13800138001' }, items: [item('曼特宁 250g', '88.00')], total: '88.00', currency: 'CNY', placedAt: '2026-03-17T12:00:00+08:00', couponCode: coupon.code });
    const [o] = await h.app.db.query(`SELECT attributed_delivery_id FROM shop_order WHERE order_id = 'SO-10'`);
    expect(String(o.attributed_delivery_id)).toBe(String(coupon.delivery_id));
    // and again with the same code: refused, on his timeline
    await postOrder({ orderId: 'SO-11', customer: { phone: '13800138001' }, items: [item('手冲滤纸', '15.00')], total: '15.00', currency: 'CNY', placedAt: '2026-03-18T12:00:00+08:00', couponCode: coupon.code });
    const [o2] = await h.app.db.query(`SELECT attributed_delivery_id FROM shop_order WHERE order_id = 'SO-11'`);
    expect(o2.attributed_delivery_id).toBeNull();
    const timeline = await h.getJson(`/api/customers/${wang}/timeline?limit=50`);
    expect(timeline.items.map((t: any) => t.kind)).toEqual(expect.arrayContaining(['coupon_issued', 'coupon_redeemed', 'coupon_rejected']));

    // the report: the coupon order by its coupon, the second order (no coupon counted) within 14 days of the greeting
    await waitFor(async () => (await h.getJson(`/api/deliveries/${coupon.delivery_id}`)).status !== 'queued', 5000, 'settled');
    await waitFor(async () => (await h.app.db.query(`SELECT status FROM delivery WHERE customer_id = ?`, [zhou]))[0].status === 'sent', 10_000, 'the email sent');
    const report = await h.getJson('/api/reports/campaigns?from=2026-03-15&to=2026-03-15');
    const b = report.campaigns.find((c: any) => c.campaign === 'birthday');
    expect(b).toMatchObject({
      candidates: 3,
      deliveries: 2,
      sent: 2,
      suppressed: { opted_out: 1 },
      couponsIssued: 2,
      couponsRedeemed: 1,
      orders: 2,
      revenue: '103.00',
      attribution: { coupon: { orders: 1, revenue: '88.00' }, window: { orders: 1, revenue: '15.00' } },
    });
    // the email went out through SMTP, with its one-click unsubscribe link
    expect(b.failed + b.queued).toBe(0);
    expect(smtp.messages.map((m) => m.rcptTo)).toEqual([['zhou@example.com']]);
    // other days and other campaigns are empty
    const before = await h.getJson('/api/reports/campaigns?from=2026-03-01&to=2026-03-14');
    expect(before.campaigns.find((c: any) => c.campaign === 'birthday')).toMatchObject({ candidates: 0, deliveries: 0, orders: 0, revenue: '0.00' });
    expect(report.campaigns.find((c: any) => c.campaign === 'reorder')).toMatchObject({ candidates: 0, deliveries: 0, orders: 0 });
  });

  it('reorder: every ~28 days and 5 days overdue → a nudge naming the product', async () => {
    now = new Date('2026-06-20T02:00:00Z');
    const last = now.getTime() - 33 * DAY;
    // four orders, 27–29 days apart; the last one 33 days ago
    const gaps = [0, 29, 27, 28];
    let t = last - 84 * DAY;
    for (const [i, g] of gaps.entries()) {
      t += g * DAY;
      await postOrder({
        orderId: `SO-R${i}`,
        customer: { phone: '13800138009', name: '李姐' },
        items: [item(i === 3 ? '耶加雪菲咖啡豆 500g' : '耶加雪菲咖啡豆 250g', '68.00')],
        total: '68.00',
        currency: 'CNY',
        placedAt: new Date(t).toISOString(),
      });
    }
    const li = await customerByPhone('+8613800138009');
    expect((await api('PUT', '/api/campaigns/reorder', reorder)).status).toBe(200);
    const res = (await (await api('POST', '/api/campaigns/reorder/run?date=2026-06-20')).json()) as any;
    const mine = res.send.filter((s: any) => s.customerId === li);
    expect(mine).toHaveLength(1);
    const [lastOrder] = await h.app.db.query(`SELECT id FROM shop_order WHERE order_id = 'SO-R3'`);
    expect(mine[0]).toMatchObject({ channel: 'sms', idempotencyKey: `reorder:${li}:${lastOrder.id}` });
    expect(mine[0].preview.params.slice(0, 2)).toEqual(['李姐', '耶加雪菲咖啡豆 500g']);
    await waitFor(async () => sms.sent.some((s) => s.phone === '+8613800138009'), 10_000, 'the nudge at the provider');
    expect(sms.sent.filter((s) => s.phone === '+8613800138009')).toEqual([expect.objectContaining({ templateId: '2220002', params: ['李姐', '耶加雪菲咖啡豆 500g', expect.stringMatching(/^RE-/)] })]);
  });

  it('the report checks its period', async () => {
    for (const q of ['from=2026-13-01&to=2026-12-31', 'from=2026-03-10&to=2026-03-01', 'from=2025-01-01&to=2026-03-01', 'to=yesterday']) {
      const res = await h.request(`/api/reports/campaigns?${q}`);
      expect([q, res.status]).toEqual([q, 400]);
    }
    // without a period: the last 30 store days up to today
    const r = await h.getJson('/api/reports/campaigns');
    expect(r).toMatchObject({ to: '2026-06-20', from: '2026-05-22', timezone: 'Asia/Shanghai', attributionDays: 14 });
    expect(r.campaigns.map((c: any) => c.campaign)).toEqual(['welcome', 'birthday', 'reorder', 'winback']);
  });
});
