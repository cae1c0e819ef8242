// Coupons at the till: the shop asks before it gives the discount, and may redeem at checkout.
//   validate: is this code good for this customer and this total, now? (reads only)
//   redeem:   mark it used by the shop's order id — idempotent on that id; the order arriving later
//             through the webhook (or import) with the same id is the same redemption, and is then
//             attributed to the coupon's delivery.
// Customers are found by any identity they gave (phone, email, WeCom id, unionid); a customer we do
// not know cannot hold one of our coupons (wrong_customer).
import { checkCoupon, redeemCoupon, TILL_REASON, type CouponCheck, type TillReason } from '../outreach/coupons';
import { findCustomerIdByIdentity } from '../customers/profiles';
import type { Domain } from '../platform/domain';
import { Conflict, Invalid } from '../platform/errors';
import { inTransaction } from '../platform/tx';
import { attributeOrder, identitiesOf, parseMoney, parseOrderCustomer, parseOrderId } from './orders';
import type { IdentityRef } from '../customers/customers';

type Json = Record<string, unknown>;

export interface TillQuestion {
  code: string;
  identities: IdentityRef[];
  /** decimal string */
  total: string;
}

function parseCode(v: unknown): string {
  if (typeof v !== 'string' || !v.trim()) throw new Invalid('code', 'is required');
  if (v.length > 64) throw new Invalid('code', 'must be at most 64 characters');
  return v;
}

/** `{ code, customer: { phone?, email?, wecomExternalUserId?, unionid? }, total }` → a question, or Invalid naming the field. */
export function parseTillQuestion(body: Json): TillQuestion {
  const code = parseCode(body.code);
  const identities = identitiesOf(parseOrderCustomer(body.customer, 'customer'));
  const total = parseMoney(body.total, 'total');
  return { code, identities, total };
}

async function findCustomer(d: Domain, ids: IdentityRef[]): Promise<string | null> {
  for (const id of ids) {
    const found = await findCustomerIdByIdentity(d.db, id.channel, id.externalId);
    if (found) return found;
  }
  return null;
}

export async function validateAtTill(d: Domain, q: TillQuestion): Promise<CouponCheck> {
  const customerId = await findCustomer(d, q.identities);
  return checkCoupon(d.db, { code: q.code, customerId, total: q.total, at: d.now() });
}

export interface TillRedemption {
  redeemed: true;
  orderId: string;
  value: string;
  campaign: string;
}

/**
 * Redeems the code for the shop's order `orderId`. A refusal is a 409 whose code names the reason
 * (coupon_unknown, coupon_expired, coupon_redeemed, coupon_wrong_customer, coupon_below_minimum_spend);
 * the same order asking again gets the same answer.
 */
export async function redeemAtTill(d: Domain, body: Json): Promise<TillRedemption> {
  const q = parseTillQuestion(body);
  const orderRef = parseOrderId(body.orderId);
  const refuse = (reason: TillReason, message: string) => new Conflict(`coupon_${reason}`, message);
  const customerId = await findCustomer(d, q.identities);
  if (!customerId) {
    const check = await checkCoupon(d.db, { code: q.code, customerId: null, total: q.total, at: d.now() });
    throw refuse(check.reason ?? 'wrong_customer', check.reason === 'unknown' ? 'no such coupon' : 'the coupon belongs to another customer');
  }
  const result = await inTransaction(d.db, async (em) => {
    const [order] = await em.query(`SELECT id FROM shop_order WHERE order_id = ?`, [orderRef]);
    const orderId = order ? String(order.id) : null;
    const r = await redeemCoupon(em, { code: q.code, customerId, orderId, orderRef, total: q.total, at: d.now() });
    // the order is already here: it is attributed now, as it would be had it carried the code
    if (r.status === 'redeemed' && orderId) await attributeOrder(em, orderId, r.deliveryId);
    return r;
  });
  if (result.status !== 'redeemed') {
    const reason = TILL_REASON[result.status];
    const why: Record<TillReason, string> = {
      unknown: 'no such coupon',
      expired: 'the coupon has expired',
      redeemed: 'the coupon was already redeemed by another order',
      wrong_customer: 'the coupon belongs to another customer',
      below_minimum_spend: 'the order total is below the coupon’s minimum spend',
    };
    throw refuse(reason, why[reason]);
  }
  return { redeemed: true, orderId: orderRef, value: result.value, campaign: result.campaign };
}

