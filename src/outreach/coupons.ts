// Coupons: issued with a campaign delivery (in the transaction that created it), redeemed once by an
// order. Codes are a prefix plus 10 characters drawn with crypto.randomInt from Crockford's base32
// alphabet (no I, L, O, U): 50 random bits, nothing derived from an id, so codes cannot be guessed
// or enumerated. A redemption attributes the order to the delivery (shop_order.attributed_delivery_id,
// written by src/orders/); every refused use is recorded on the ordering customer's timeline.
import { randomInt } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { appendTimeline, appendTimelineEntries } from '../customers/timeline';

export const COUPON_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const COUPON_RANDOM_LENGTH = 10;

export function generateCouponCode(prefix: string): string {
  let s = prefix;
  for (let i = 0; i < COUPON_RANDOM_LENGTH; i++) s += COUPON_ALPHABET[randomInt(COUPON_ALPHABET.length)];
  return s;
}

/** How codes are compared: trimmed, upper-case (customers type them). */
export const normalizeCouponCode = (code: string) => code.trim().toUpperCase();

export interface NewCoupon {
  code: string;
  deliveryId: string;
  customerId: string;
  campaign: string;
  /** decimal string, e.g. '20.00' */
  value: string;
  expiresAt: Date;
  /** the last store-local day it works, 'YYYY-MM-DD' (shown to the customer) */
  lastValidDay: string;
}

/**
 * Inserts coupons for deliveries just created (in the caller's transaction) and a timeline line for
 * each. A code collision (50 random bits: practically never) raises the duplicate-key error, which
 * makes inTransaction run the whole unit again with fresh codes.
 */
export async function issueCoupons(em: EntityManager, coupons: NewCoupon[], now: Date): Promise<void> {
  if (!coupons.length) return;
  await em.query(
    `INSERT INTO coupon (code, delivery_id, customer_id, campaign, value, expires_at, created_at) VALUES ${coupons.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(',')}`,
    coupons.flatMap((c) => [c.code, c.deliveryId, c.customerId, c.campaign, c.value, c.expiresAt, now]),
  );
  await appendTimelineEntries(
    em,
    coupons.map((c) => ({
      customerId: c.customerId,
      channel: 'system',
      direction: 'internal' as const,
      kind: 'coupon_issued',
      text: `coupon ${c.code} (${c.value}) issued with the ${c.campaign} message, valid through ${c.lastValidDay}`,
      occurredAt: now,
      staffUserId: null,
      providerId: `coupon:${c.code}`,
      inboundEventId: null,
      data: { code: c.code, value: c.value, deliveryId: c.deliveryId, campaign: c.campaign, expiresAt: c.expiresAt.toISOString() },
    })),
    now,
  );
}

export type RedeemResult =
  | { status: 'redeemed'; deliveryId: string; couponId: string; campaign: string; value: string }
  | { status: 'already_redeemed' | 'expired' | 'not_found' | 'wrong_customer' };

export interface Redemption {
  code: string;
  customerId: string;
  /** shop_order.id (ours) of the order carrying the code */
  orderId: string;
  /** when the order was placed */
  at: Date;
}

/**
 * Redeems `code` for an order, once. The same order redeeming it again (a replayed webhook) is the
 * same redemption; any other second use is refused as already_redeemed. A coupon is the customer's
 * own (wrong_customer otherwise) and works until expires_at. Call inside the order's transaction;
 * the order's attribution to the delivery is the orders room's (src/orders/orders.ts redeemCouponForOrder).
 */
export async function redeemCoupon(em: EntityManager, r: Redemption): Promise<RedeemResult> {
  const code = normalizeCouponCode(r.code);
  const [c]: { id: string; delivery_id: string; customer_id: string; campaign: string; value: string; expires_at: Date; redeemed_order_id: string | null }[] = code
    ? await em.query(`SELECT id, delivery_id, customer_id, campaign, value, expires_at, redeemed_order_id FROM coupon WHERE code = ? FOR UPDATE`, [code])
    : [];
  const reject = async (status: 'already_redeemed' | 'expired' | 'not_found' | 'wrong_customer', why: string): Promise<RedeemResult> => {
    await appendTimeline(
      em,
      {
        customerId: r.customerId,
        channel: 'shop',
        direction: 'internal',
        kind: 'coupon_rejected',
        text: `coupon ${code || '(empty)'} refused for order ${r.orderId}: ${why}`,
        occurredAt: r.at,
        providerId: `coupon-rejected:${r.orderId}:${code.slice(0, 64)}`,
        data: { code, orderId: String(r.orderId), reason: status, couponId: c ? String(c.id) : null },
      },
      r.at,
    );
    return { status };
  };
  if (!c) return reject('not_found', 'no such coupon');
  if (c.redeemed_order_id !== null && String(c.redeemed_order_id) === String(r.orderId)) {
    return { status: 'redeemed', deliveryId: String(c.delivery_id), couponId: String(c.id), campaign: c.campaign, value: String(c.value) };
  }
  if (c.redeemed_order_id !== null) return reject('already_redeemed', `already redeemed by order ${c.redeemed_order_id}`);
  if (String(c.customer_id) !== String(r.customerId)) return reject('wrong_customer', `issued to customer ${c.customer_id}`);
  if (r.at.getTime() >= new Date(c.expires_at).getTime()) return reject('expired', `expired at ${new Date(c.expires_at).toISOString()}`);

  await em.query(`UPDATE coupon SET redeemed_at = ?, redeemed_order_id = ? WHERE id = ?`, [r.at, r.orderId, c.id]);
  await appendTimeline(
    em,
    {
      customerId: r.customerId,
      channel: 'shop',
      direction: 'internal',
      kind: 'coupon_redeemed',
      text: `coupon ${code} (${c.value}) from the ${c.campaign} message redeemed by order ${r.orderId}`,
      occurredAt: r.at,
      providerId: `coupon-redeemed:${c.id}`,
      data: { code, orderId: String(r.orderId), deliveryId: String(c.delivery_id), campaign: c.campaign, value: String(c.value) },
    },
    r.at,
  );
  return { status: 'redeemed', deliveryId: String(c.delivery_id), couponId: String(c.id), campaign: c.campaign, value: String(c.value) };
}

/** Every coupon issued to a customer, oldest first (the PIPL export). */
export async function couponsOf(db: DataSource, customerId: string): Promise<{ code: string; campaign: string; value: string; expiresAt: string; redeemedAt: string | null }[]> {
  const rows: Record<string, unknown>[] = await db.query(
    `SELECT code, campaign, value, expires_at, redeemed_at FROM coupon WHERE customer_id = ? ORDER BY id`,
    [customerId],
  );
  return rows.map((r) => ({
    code: r.code as string,
    campaign: r.campaign as string,
    value: String(r.value),
    expiresAt: new Date(r.expires_at as string).toISOString(),
    redeemedAt: r.redeemed_at ? new Date(r.redeemed_at as string).toISOString() : null,
  }));
}
