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

/**
 * How codes are compared (Crockford's decoding): upper-case, spaces and dashes dropped, O read as 0,
 * I and L as 1 — what a customer reads out or types. The coupon table keeps the same form in its
 * generated, unique `code_key` (migration 1764892800000).
 */
export const couponKey = (code: string) =>
  code
    .toUpperCase()
    .replace(/[\s\-‐-―－]+/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');

/** @deprecated name: the comparison form of a code (couponKey). */
export const normalizeCouponCode = couponKey;

export interface NewCoupon {
  code: string;
  deliveryId: string;
  customerId: string;
  campaign: string;
  /** decimal string, e.g. '20.00' */
  value: string;
  /** the order total it needs, decimal string; null: none */
  minSpend?: string | null;
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
    `INSERT INTO coupon (code, delivery_id, customer_id, campaign, value, min_spend, expires_at, created_at) VALUES ${coupons.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(',')}`,
    coupons.flatMap((c) => [c.code, c.deliveryId, c.customerId, c.campaign, c.value, c.minSpend ?? null, c.expiresAt, now]),
  );
  await appendTimelineEntries(
    em,
    coupons.map((c) => ({
      customerId: c.customerId,
      channel: 'system',
      direction: 'internal' as const,
      kind: 'coupon_issued',
      text: `coupon ${c.code} (${c.value}) issued with the ${c.campaign} message, valid through ${c.lastValidDay}${c.minSpend ? ` on orders of ${c.minSpend} or more` : ''}`,
      occurredAt: now,
      staffUserId: null,
      providerId: `coupon:${c.code}`,
      inboundEventId: null,
      data: { code: c.code, value: c.value, deliveryId: c.deliveryId, campaign: c.campaign, expiresAt: c.expiresAt.toISOString() },
    })),
    now,
  );
}

export type Refusal = 'already_redeemed' | 'expired' | 'not_found' | 'wrong_customer' | 'below_minimum';

export type RedeemResult = { status: 'redeemed'; deliveryId: string; couponId: string; campaign: string; value: string } | { status: Refusal };

export interface Redemption {
  code: string;
  customerId: string;
  /** shop_order.id (ours) of the order carrying the code; null when the till redeems before the order is here */
  orderId: string | null;
  /** the shop's order id (the till's redemption and the order's are the same when this matches) */
  orderRef: string;
  /** the order total, decimal string (checked against the coupon's minimum spend) */
  total: string | null;
  /** when the order was placed */
  at: Date;
}

interface CouponRow {
  id: string;
  code: string;
  delivery_id: string;
  customer_id: string;
  campaign: string;
  value: string;
  min_spend: string | null;
  expires_at: Date;
  redeemed_order_id: string | null;
  redeemed_order_ref: string | null;
}

const COUPON_COLUMNS = 'id, code, delivery_id, customer_id, campaign, value, min_spend, expires_at, redeemed_order_id, redeemed_order_ref';
const cents = (v: string | number) => Math.round(Number(v) * 100);

/** Why this coupon cannot pay for this order (null: it can). `sameOrder`: the coupon was redeemed by this very order. */
function refusalOf(c: CouponRow, q: { customerId: string | null; total: string | null; at: Date; sameOrder: boolean }): { status: Refusal; why: string } | null {
  if (c.redeemed_order_ref !== null && !q.sameOrder) return { status: 'already_redeemed', why: `already redeemed by order ${c.redeemed_order_id ?? c.redeemed_order_ref}` };
  if (q.customerId === null || String(c.customer_id) !== String(q.customerId)) return { status: 'wrong_customer', why: `issued to customer ${c.customer_id}` };
  if (q.sameOrder) return null;
  if (q.at.getTime() >= new Date(c.expires_at).getTime()) return { status: 'expired', why: `expired at ${new Date(c.expires_at).toISOString()}` };
  if (c.min_spend !== null && q.total !== null && cents(q.total) < cents(c.min_spend)) return { status: 'below_minimum', why: `the order total ${q.total} is below the minimum spend ${c.min_spend}` };
  return null;
}

/**
 * Redeems `code` for an order, once. The same order redeeming it again (a replayed webhook, or the
 * order arriving after the till redeemed it) is the same redemption; any other second use is refused
 * as already_redeemed. A coupon is the customer's own (wrong_customer otherwise), works until
 * expires_at, and needs its minimum spend. Call inside the order's transaction; the order's
 * attribution to the delivery is the orders room's (src/orders/orders.ts redeemCouponForOrder).
 */
export async function redeemCoupon(em: EntityManager, r: Redemption): Promise<RedeemResult> {
  const key = couponKey(r.code);
  const shown = key || '(empty)';
  const [c]: CouponRow[] = key ? await em.query(`SELECT ${COUPON_COLUMNS} FROM coupon WHERE code_key = ? FOR UPDATE`, [key]) : [];
  const orderName = r.orderId ?? r.orderRef;
  const reject = async (status: Refusal, why: string): Promise<RedeemResult> => {
    await appendTimeline(
      em,
      {
        customerId: r.customerId,
        channel: 'shop',
        direction: 'internal',
        kind: 'coupon_rejected',
        text: `coupon ${shown} refused for order ${orderName}: ${why}`,
        occurredAt: r.at,
        providerId: `coupon-rejected:${r.orderRef}:${key.slice(0, 64)}`,
        data: { code: key, orderId: r.orderId === null ? null : String(r.orderId), orderRef: r.orderRef, reason: status, couponId: c ? String(c.id) : null },
      },
      r.at,
    );
    return { status };
  };
  if (!c) return reject('not_found', 'no such coupon');
  const sameOrder = c.redeemed_order_ref !== null ? c.redeemed_order_ref === r.orderRef : false;
  const redeemed = { status: 'redeemed' as const, deliveryId: String(c.delivery_id), couponId: String(c.id), campaign: c.campaign, value: String(c.value) };
  const refusal = refusalOf(c, { customerId: r.customerId, total: r.total, at: r.at, sameOrder });
  if (refusal) return reject(refusal.status, refusal.why);
  if (sameOrder) {
    // the till redeemed it first: the order now arriving completes the record
    if (r.orderId !== null && c.redeemed_order_id === null) await em.query(`UPDATE coupon SET redeemed_order_id = ? WHERE id = ?`, [r.orderId, c.id]);
    return redeemed;
  }
  await em.query(`UPDATE coupon SET redeemed_at = ?, redeemed_order_id = ?, redeemed_order_ref = ? WHERE id = ?`, [r.at, r.orderId, r.orderRef, c.id]);
  await appendTimeline(
    em,
    {
      customerId: r.customerId,
      channel: 'shop',
      direction: 'internal',
      kind: 'coupon_redeemed',
      text: `coupon ${c.code} (${c.value}) from the ${c.campaign} message redeemed by order ${orderName}`,
      occurredAt: r.at,
      providerId: `coupon-redeemed:${c.id}`,
      data: { code: c.code, orderId: r.orderId === null ? null : String(r.orderId), orderRef: r.orderRef, deliveryId: String(c.delivery_id), campaign: c.campaign, value: String(c.value) },
    },
    r.at,
  );
  return redeemed;
}

/** The till's question, answered without writing anything. Reasons as the API names them. */
export type TillReason = 'unknown' | 'expired' | 'redeemed' | 'wrong_customer' | 'below_minimum_spend';
export const TILL_REASON: Record<Refusal, TillReason> = {
  not_found: 'unknown',
  expired: 'expired',
  already_redeemed: 'redeemed',
  wrong_customer: 'wrong_customer',
  below_minimum: 'below_minimum_spend',
};

export interface CouponCheck {
  valid: boolean;
  reason?: TillReason;
  /** decimal string; null for an unknown code */
  value: string | null;
  /** ISO instant it stops working; null for an unknown code */
  expiresAt: string | null;
  minSpend: string | null;
}

/** Can `code` pay for an order of `total` by this customer (null: not known to us) at `at`? */
export async function checkCoupon(db: DataSource | EntityManager, q: { code: string; customerId: string | null; total: string; at: Date }): Promise<CouponCheck> {
  const key = couponKey(q.code);
  const [c]: CouponRow[] = key ? await db.query(`SELECT ${COUPON_COLUMNS} FROM coupon WHERE code_key = ?`, [key]) : [];
  if (!c) return { valid: false, reason: 'unknown', value: null, expiresAt: null, minSpend: null };
  const refusal = refusalOf(c, { customerId: q.customerId, total: q.total, at: q.at, sameOrder: false });
  const out: CouponCheck = { valid: !refusal, value: String(c.value), expiresAt: new Date(c.expires_at).toISOString(), minSpend: c.min_spend === null ? null : String(c.min_spend) };
  if (refusal) out.reason = TILL_REASON[refusal.status];
  return out;
}

/** The code the till redeemed for the shop's order `orderRef` (before the order reached us), if any. */
export async function tillRedemptionCode(em: EntityManager, orderRef: string): Promise<string | null> {
  const [c] = await em.query(`SELECT code FROM coupon WHERE redeemed_order_ref = ? AND redeemed_order_id IS NULL`, [orderRef]);
  return c ? String(c.code) : null;
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
