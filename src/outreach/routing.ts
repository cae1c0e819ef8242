// Channel routing for automated messages: which channel (and address) reaches a customer, in the
// campaign's channel order, under the consent ledger. WeCom goes through the staff member who owns
// the customer (the most recent active follow relation); SMS needs a phone, email an address.
// The contact policy (src/contact-policy.ts) checks consent again at send time: routing picks the
// first channel that can work now, the send refuses it if that changed since.
import type { DataSource, EntityManager } from 'typeorm';

export type RouteChannel = 'wecom' | 'sms' | 'email';
export const ROUTE_CHANNELS: RouteChannel[] = ['wecom', 'sms', 'email'];

export type Route = { channel: RouteChannel; toAddress: string; staffUserId?: string } | { skip: RouteSkipReason };

/**
 * `opted_out`: the customer could be reached on at least one listed channel but opted out of every
 * such one; `no_address`: no listed channel has an address (no WeCom relation, no phone, no email);
 * `no_channels`: the campaign lists none; `no_customer`: the id is unknown.
 */
export type RouteSkipReason = 'opted_out' | 'no_address' | 'no_channels' | 'no_customer';

type Db = DataSource | EntityManager;

/** Routes one customer (see routeDeliveries). */
export async function routeDelivery(em: Db, req: { customerId: string; channels: RouteChannel[] }): Promise<Route> {
  const routes = await routeDeliveries(em, [req.customerId], req.channels);
  return routes.get(String(req.customerId)) ?? { skip: 'no_customer' };
}

interface Reach {
  phone: string | null;
  email: string | null;
  wecom: { externalUserId: string; staffUserId: string } | null;
  optedOut: Set<string>;
}

/**
 * Routes many customers with a handful of indexed queries (for the daily sweep): per customer the
 * first channel in `channels` with an address the customer has not opted out of.
 */
export async function routeDeliveries(em: Db, customerIds: string[], channels: RouteChannel[]): Promise<Map<string, Route>> {
  const ids = [...new Set(customerIds.map(String))];
  const out = new Map<string, Route>();
  if (!ids.length) return out;
  const order = channels.filter((c, i) => ROUTE_CHANNELS.includes(c) && channels.indexOf(c) === i);
  const reach = new Map<string, Reach>();
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    const marks = chunk.map(() => '?').join(',');
    const customers: { id: string; phone: string | null; email: string | null }[] = await em.query(`SELECT id, phone, email FROM customer WHERE id IN (${marks})`, chunk);
    for (const c of customers) reach.set(String(c.id), { phone: c.phone || null, email: c.email || null, wecom: null, optedOut: new Set() });
    const consents: { customer_id: string; channel: string }[] = await em.query(
      `SELECT customer_id, channel FROM customer_consent WHERE customer_id IN (${marks}) AND status = 'opted_out'`,
      chunk,
    );
    for (const c of consents) reach.get(String(c.customer_id))?.optedOut.add(c.channel);
    if (order.includes('wecom')) {
      // the owner: the most recently added active follow; the address: the customer's WeCom external id
      const follows: { customer_id: string; staff_user_id: string; external_id: string }[] = await em.query(
        `SELECT f.customer_id, f.staff_user_id, i.external_id
           FROM customer_follow f
           JOIN customer_identity i ON i.customer_id = f.customer_id AND i.channel = 'wecom'
          WHERE f.customer_id IN (${marks}) AND f.status = 'active'
          ORDER BY f.customer_id, COALESCE(f.added_at, f.updated_at) DESC, f.id DESC`,
        chunk,
      );
      for (const f of follows) {
        const r = reach.get(String(f.customer_id));
        if (r && !r.wecom) r.wecom = { externalUserId: f.external_id, staffUserId: f.staff_user_id };
      }
    }
  }
  for (const id of ids) {
    const r = reach.get(id);
    if (!r) {
      out.set(id, { skip: 'no_customer' });
      continue;
    }
    out.set(id, pick(r, order));
  }
  return out;
}

function pick(r: Reach, order: RouteChannel[]): Route {
  if (!order.length) return { skip: 'no_channels' };
  let blocked = false;
  for (const channel of order) {
    const address = channel === 'wecom' ? r.wecom?.externalUserId : channel === 'sms' ? r.phone : r.email;
    if (!address) continue;
    if (r.optedOut.has(channel)) {
      blocked = true;
      continue;
    }
    return channel === 'wecom' ? { channel, toAddress: address, staffUserId: r.wecom!.staffUserId } : { channel, toAddress: address };
  }
  return { skip: blocked ? 'opted_out' : 'no_address' };
}
