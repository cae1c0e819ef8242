// Channel routing against the real database: WeCom through the owning staff member, else SMS, else
// email, in the campaign's order, under the consent ledger.
import { recordConsent } from '../../src/consent/consent';
import { routeDeliveries, routeDelivery } from '../../src/outreach/routing';
import { inTransaction } from '../../src/platform/tx';
import { startHarness, type Harness } from '../support/harness';

describe('routeDelivery', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const t = new Date('2026-03-01T02:00:00Z');
  async function customer(c: { phone?: string; email?: string; wecom?: string; follows?: { staff: string; addedAt: Date; status?: 'active' | 'ended' }[]; optOut?: string[] }): Promise<string> {
    return inTransaction(h.app.db, async (em) => {
      const res = await em.query(`INSERT INTO customer (phone, email, first_seen_at, created_at, updated_at, churn_risk) VALUES (?, ?, ?, ?, ?, 0)`, [c.phone ?? null, c.email ?? null, t, t, t]);
      const id = String(res.insertId);
      if (c.wecom) await em.query(`INSERT INTO customer_identity (customer_id, channel, external_id, created_at) VALUES (?, 'wecom', ?, ?)`, [id, c.wecom, t]);
      for (const f of c.follows ?? []) {
        await em.query(`INSERT INTO customer_follow (customer_id, staff_user_id, status, added_at, updated_at) VALUES (?, ?, ?, ?, ?)`, [id, f.staff, f.status ?? 'active', f.addedAt, t]);
      }
      for (const ch of c.optOut ?? []) {
        await recordConsent(em, { customerId: id, channel: ch as 'sms', action: 'opt_out', source: 'manual', actor: 'test', occurredAt: t }, t);
      }
      return id;
    });
  }

  it('reaches a customer with an active follow through the staff member who added them last', async () => {
    const id = await customer({
      phone: '+8613800000001',
      wecom: 'wmROUTE0001',
      follows: [
        { staff: 'zhangsan', addedAt: new Date('2025-01-01T00:00:00Z') },
        { staff: 'lisi', addedAt: new Date('2025-06-01T00:00:00Z') },
        { staff: 'wangwu', addedAt: new Date('2025-09-01T00:00:00Z'), status: 'ended' },
      ],
    });
    expect(await routeDelivery(h.app.db, { customerId: id, channels: ['wecom', 'sms', 'email'] })).toEqual({ channel: 'wecom', toAddress: 'wmROUTE0001', staffUserId: 'lisi' });
    // the campaign's order wins
    expect(await routeDelivery(h.app.db, { customerId: id, channels: ['sms', 'wecom'] })).toEqual({ channel: 'sms', toAddress: '+8613800000001' });
  });

  it('one who opted out of SMS and has no WeCom relation gets an email or nothing, never an SMS', async () => {
    const withEmail = await customer({ phone: '+8613800000002', email: 'a@example.com', wecom: 'wmROUTE0002', follows: [{ staff: 'zhangsan', addedAt: t, status: 'ended' }], optOut: ['sms'] });
    const noEmail = await customer({ phone: '+8613800000003', optOut: ['sms'] });
    const routes = await routeDeliveries(h.app.db, [withEmail, noEmail], ['wecom', 'sms', 'email']);
    expect(routes.get(withEmail)).toEqual({ channel: 'email', toAddress: 'a@example.com' });
    expect(routes.get(noEmail)).toEqual({ skip: 'opted_out' });
  });

  it('says why nobody could be reached', async () => {
    const nothing = await customer({});
    expect(await routeDelivery(h.app.db, { customerId: nothing, channels: ['wecom', 'sms', 'email'] })).toEqual({ skip: 'no_address' });
    expect(await routeDelivery(h.app.db, { customerId: nothing, channels: [] })).toEqual({ skip: 'no_channels' });
    expect(await routeDelivery(h.app.db, { customerId: '999999999', channels: ['sms'] })).toEqual({ skip: 'no_customer' });
    const wecomOptedOut = await customer({ wecom: 'wmROUTE0004', follows: [{ staff: 'zhangsan', addedAt: t }], optOut: ['wecom'], email: 'b@example.com' });
    expect(await routeDelivery(h.app.db, { customerId: wecomOptedOut, channels: ['wecom', 'email'] })).toEqual({ channel: 'email', toAddress: 'b@example.com' });
  });
});
