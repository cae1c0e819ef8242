// Orders from the shop (the orders webhook through the durable inbox, and CSV history imports):
// validate → resolve the customer by any identity (creating one if needed) → insert the order and
// its items once (unique order_id) → timeline → [live orders only: redeem the coupon] → order stats,
// purchase rhythm and lifecycle stage of the customer.
import type { DataSource, EntityManager } from 'typeorm';
import type { InboundEvent, OrderSource } from '../../entities';
import { redeemCoupon, tillRedemptionCode, type RedeemResult } from '../outreach/coupons';
import { fillCustomerBlanks, parseBirthday, refreshOrderStats, resolveCustomer, touchCustomer, type IdentityRef } from '../customers/customers';
import type { Domain } from '../platform/domain';
import { normalizeEmail, normalizePhone } from '../customers/identity';
import { refreshLifecycle, type LifecycleThresholds } from '../customers/lifecycle';
import { Invalid, PermanentError } from '../platform/errors';
import { appendTimeline } from '../customers/timeline';
import { inTransaction } from '../platform/tx';
import { wallTime } from '../platform/store-time';

export interface OrderCustomer {
  /** E.164 */
  phone: string | null;
  /** lower-cased */
  email: string | null;
  wecomExternalUserId: string | null;
  unionid: string | null;
  name: string | null;
  /** 'YYYY-MM-DD' or '--MM-DD' */
  birthday: string | null;
}

export interface OrderItem {
  sku: string;
  name: string;
  category: string;
  quantity: number;
  /** unit price, 2 decimals: '49.90' */
  price: string;
}

/** A validated order, as it is stored in the inbox payload. */
export interface Order {
  orderId: string;
  customer: OrderCustomer;
  items: OrderItem[];
  /** 2 decimals: '128.00' */
  total: string;
  /** ISO 4217, upper-case */
  currency: string;
  /** ISO 8601 UTC */
  placedAt: string;
  couponCode: string | null;
}

export const MAX_ORDER_ITEMS = 1000;

// ───────────────────────────── validation ─────────────────────────────

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Printable text without control characters, trimmed; undefined when absent or blank. */
function optText(v: unknown, field: string, max: number): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) v = String(v);
  if (typeof v !== 'string') throw new Invalid(field, 'must be a string');
  const s = v.trim();
  if (!s) return undefined;
  if (s.length > max) throw new Invalid(field, `must be at most ${max} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new Invalid(field, 'must not contain control characters');
  return s;
}

function text(v: unknown, field: string, max: number): string {
  const s = optText(v, field, max);
  if (s === undefined) throw new Invalid(field, 'is required');
  return s;
}

/** Money: a number or a decimal string, ≥ 0, at most 2 decimals and 10 integer digits → '12.30'. */
export function parseMoney(v: unknown, field: string): string {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : typeof v === 'string' ? v.trim() : undefined;
  if (s === undefined || s === '') throw new Invalid(field, 'is required');
  const m = /^(\d{1,10})(?:\.(\d{1,2}))?$/.exec(s);
  if (!m) throw new Invalid(field, 'must be an amount ≥ 0 with at most 2 decimals, like 128.00');
  return `${BigInt(m[1])}.${(m[2] ?? '').padEnd(2, '0')}`;
}

function quantity(v: unknown, field: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d{1,9}\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new Invalid(field, 'must be a whole number from 1 to 1000000');
  return n;
}

/**
 * An order time: ISO 8601 with a zone ('2025-03-01T10:00:00+08:00', '…Z'), or without one
 * ('2025-03-01 10:00', '2025-03-01') read as the store's local time. Years 1970–2100.
 */
export function parsePlacedAt(v: unknown, field: string, storeTimeZone: string): Date {
  if (typeof v !== 'string' || !v.trim()) throw new Invalid(field, 'is required');
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(v.trim());
  const bad = () => new Invalid(field, 'must be a date-time like 2025-03-01T10:00:00+08:00 (without a zone: store time)');
  if (!m) throw bad();
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number);
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  if (y < 1970 || y > 2100 || h > 23 || mi > 59 || s > 59) throw bad();
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) throw bad();
  let t: number;
  if (m[8]) {
    const zone = m[8].toUpperCase();
    const off = zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2))) * 60_000;
    t = Date.UTC(y, mo - 1, d, h, mi, s, ms) - off;
  } else {
    t = wallTime(storeTimeZone, y, mo, d, h, mi, s, ms).getTime();
  }
  return new Date(t);
}

/** The customer object of an order: identities normalised, at least one of them present. */
export function parseOrderCustomer(v: unknown, field: string): OrderCustomer {
  if (!isObject(v)) throw new Invalid(field, 'must be an object');
  const rawPhone = optText(v.phone, `${field}.phone`, 32);
  const phone = rawPhone === undefined ? null : normalizePhone(rawPhone);
  if (rawPhone !== undefined && !phone) throw new Invalid(`${field}.phone`, 'is not a phone number');
  const rawEmail = optText(v.email, `${field}.email`, 254);
  const email = rawEmail === undefined ? null : normalizeEmail(rawEmail);
  if (rawEmail !== undefined && !email) throw new Invalid(`${field}.email`, 'is not an email address');
  const wecomExternalUserId = optText(v.wecomExternalUserId, `${field}.wecomExternalUserId`, 191) ?? null;
  const unionid = optText(v.unionid, `${field}.unionid`, 191) ?? null;
  const name = optText(v.name, `${field}.name`, 128) ?? null;
  const rawBirthday = optText(v.birthday, `${field}.birthday`, 10);
  const birthday = rawBirthday === undefined ? null : parseBirthday(rawBirthday);
  if (rawBirthday !== undefined && !birthday) throw new Invalid(`${field}.birthday`, 'must be a real date as YYYY-MM-DD or --MM-DD');
  if (!phone && !email && !wecomExternalUserId && !unionid) {
    throw new Invalid(field, 'needs at least one of phone, email, wecomExternalUserId, unionid');
  }
  return { phone, email, wecomExternalUserId, unionid, name, birthday };
}

export function parseOrderItem(v: unknown, field: string): OrderItem {
  if (!isObject(v)) throw new Invalid(field, 'must be an object');
  return {
    sku: text(v.sku, `${field}.sku`, 64),
    name: text(v.name, `${field}.name`, 255),
    category: optText(v.category, `${field}.category`, 64) ?? '',
    quantity: quantity(v.quantity, `${field}.quantity`),
    price: parseMoney(v.price, `${field}.price`),
  };
}

export const parseOrderId = (v: unknown, field = 'orderId') => text(v, field, 64);
export const parseCurrency = (v: unknown, field = 'currency'): string => {
  const s = text(v, field, 3);
  if (!/^[A-Za-z]{3}$/.test(s)) throw new Invalid(field, 'must be a 3-letter ISO 4217 code like CNY');
  return s.toUpperCase();
};
export const parseCouponCode = (v: unknown, field = 'couponCode') => optText(v, field, 64) ?? null;

/** The orders webhook body → an Order, or Invalid naming the first bad field. */
export function parseOrderPayload(body: Json, storeTimeZone: string): Order {
  const orderId = parseOrderId(body.orderId);
  const customer = parseOrderCustomer(body.customer, 'customer');
  if (!Array.isArray(body.items)) throw new Invalid('items', 'must be an array');
  if (body.items.length < 1 || body.items.length > MAX_ORDER_ITEMS) throw new Invalid('items', `must hold 1 to ${MAX_ORDER_ITEMS} items`);
  const items = body.items.map((it, i) => parseOrderItem(it, `items[${i}]`));
  const total = parseMoney(body.total, 'total');
  const currency = parseCurrency(body.currency);
  const placedAt = parsePlacedAt(body.placedAt, 'placedAt', storeTimeZone).toISOString();
  const couponCode = parseCouponCode(body.couponCode);
  return { orderId, customer, items, total, currency, placedAt, couponCode };
}

// ───────────────────────────── storing ─────────────────────────────

export interface StoredOrder {
  status: 'created' | 'duplicate';
  customerId: string;
  /** shop_order.id */
  id: string;
  coupon?: RedeemResult;
}

export function identitiesOf(c: OrderCustomer): IdentityRef[] {
  // the most specific identity first: it wins when they point at different customers
  const ids: IdentityRef[] = [];
  if (c.wecomExternalUserId) ids.push({ channel: 'wecom', externalId: c.wecomExternalUserId });
  if (c.unionid) ids.push({ channel: 'wechat_unionid', externalId: c.unionid });
  if (c.phone) ids.push({ channel: 'phone', externalId: c.phone });
  if (c.email) ids.push({ channel: 'email', externalId: c.email });
  return ids;
}

export function orderSummary(o: Order): string {
  const items = o.items.map((i) => (i.quantity > 1 ? `${i.name} ×${i.quantity}` : i.name)).join(', ');
  return `Order ${o.orderId} · ${o.currency} ${o.total}${items ? ` · ${items}` : ''}${o.couponCode ? ` · coupon ${o.couponCode}` : ''}`.slice(0, 2000);
}

/**
 * Inserts the order once (a second call with the same orderId changes nothing and says
 * 'duplicate'). Live orders redeem their coupon; imported history does not. Order stats, rhythm and
 * lifecycle are the caller's next step (refreshAfterOrders), once per batch of customers.
 * A racing insert of the same orderId ends in a duplicate-key error: inTransaction runs the unit
 * again and then finds the winner's order.
 */
export async function storeOrder(
  em: EntityManager,
  o: Order,
  opts: { source: OrderSource; inboundEventId?: string | null; now: Date },
): Promise<StoredOrder> {
  const [existing] = await em.query(`SELECT id, customer_id FROM shop_order WHERE order_id = ?`, [o.orderId]);
  if (existing) return { status: 'duplicate', customerId: String(existing.customer_id), id: String(existing.id) };
  const placedAt = new Date(o.placedAt);
  const { customerId } = await resolveCustomer(em, identitiesOf(o.customer), placedAt, opts.now);
  await touchCustomer(em, customerId, placedAt, false);
  if (o.customer.name || o.customer.birthday) await fillCustomerBlanks(em, customerId, { name: o.customer.name, birthday: o.customer.birthday }, opts.now);
  const res = await em.query(
    `INSERT INTO shop_order (order_id, customer_id, total, currency, placed_at, coupon_code, source, inbound_event_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [o.orderId, customerId, o.total, o.currency, placedAt, o.couponCode, opts.source, opts.inboundEventId ?? null, opts.now],
  );
  const id = String(res.insertId);
  if (o.items.length) {
    await em.query(
      `INSERT INTO shop_order_item (shop_order_id, line, sku, name, category, quantity, price) VALUES ${o.items.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(',')}`,
      o.items.flatMap((it, k) => [id, k + 1, it.sku, it.name, it.category, it.quantity, it.price]),
    );
  }
  let coupon: RedeemResult | undefined;
  // the code it carries, or the one the till redeemed for this order id before it arrived
  const code = opts.source === 'webhook' ? (o.couponCode ?? (await tillRedemptionCode(em, o.orderId))) : null;
  if (code) coupon = await redeemCouponForOrder(em, { code, customerId, orderId: id, at: placedAt });
  await appendTimeline(
    em,
    {
      customerId,
      channel: 'shop',
      direction: 'in',
      kind: 'order',
      text: orderSummary(o),
      occurredAt: placedAt,
      providerId: `order:${o.orderId}`,
      inboundEventId: opts.inboundEventId ?? null,
      data: {
        orderId: o.orderId,
        total: o.total,
        currency: o.currency,
        items: o.items,
        couponCode: o.couponCode ?? undefined,
        coupon: coupon ? { status: coupon.status, deliveryId: coupon.status === 'redeemed' ? coupon.deliveryId : undefined } : undefined,
        source: opts.source,
      },
    },
    opts.now,
  );
  return { status: 'created', customerId, id, coupon };
}

/** Redeems the order's coupon (once) and attributes the order to the coupon's delivery (shop_order.attributed_delivery_id). */
export async function redeemCouponForOrder(em: EntityManager, r: { code: string; customerId: string; orderId: string; at: Date }): Promise<RedeemResult> {
  const [o] = await em.query(`SELECT order_id, total FROM shop_order WHERE id = ?`, [r.orderId]);
  if (!o) throw new Error(`no shop_order ${r.orderId}`);
  const result = await redeemCoupon(em, { ...r, orderRef: o.order_id, total: String(o.total) });
  if (result.status === 'redeemed') await attributeOrder(em, r.orderId, result.deliveryId);
  return result;
}

/** The order (shop_order.id) redeemed the coupon of this delivery. */
export async function attributeOrder(em: EntityManager, orderId: string, deliveryId: string): Promise<void> {
  await em.query(`UPDATE shop_order SET attributed_delivery_id = ? WHERE id = ?`, [deliveryId, orderId]);
}

/**
 * Order stats, rhythm and lifecycle of these customers, from their orders as they now stand —
 * including orders other transactions committed after this one began: every read here is a
 * locking read (refreshOrderStats' UPDATE, and LOCK IN SHARE MODE for the rhythm), never this
 * transaction's older snapshot.
 */
export async function refreshAfterOrders(em: EntityManager, customerIds: string[], now: Date, t: LifecycleThresholds): Promise<void> {
  const ids = [...new Set(customerIds)];
  if (!ids.length) return;
  await refreshOrderStats(em, ids);
  await refreshRhythm(em, ids, now);
  await refreshLifecycle(em, ids, now, t);
}

/** The worker's side of POST /webhooks/orders (inbox channel 'shop'). */
export async function processOrderEvent(d: Domain, ev: InboundEvent): Promise<StoredOrder> {
  const o = ev.payload as unknown as Order;
  if (!o || typeof o.orderId !== 'string' || !Array.isArray(o.items)) throw new PermanentError('shop event without an order');
  return inTransaction(d.db, async (em) => {
    const now = d.now();
    const stored = await storeOrder(em, o, { source: 'webhook', inboundEventId: ev.id, now });
    if (stored.status === 'created') await refreshAfterOrders(em, [stored.customerId], now, d.lifecycle);
    return stored;
  });
}

// ───────────────────────────── rhythm ─────────────────────────────

const DAY_MS = 86_400_000;

export interface Rhythm {
  category: string;
  orderCount: number;
  lastOrderAt: Date;
  lastOrderId: string;
  lastProduct: string | null;
  /** null below two purchase days */
  medianGapDays: number | null;
  expectedNextAt: Date | null;
}

export function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Rhythm of one series of orders (oldest first): the median of the gaps between consecutive orders,
 * in days — the median, so one long pause does not stretch it. Gaps under a day are left out (a
 * second order the same day is the same purchase, not a rhythm of zero days).
 */
export function rhythmOf(category: string, orders: { id: string; at: Date; product: string | null }[]): Rhythm | null {
  if (!orders.length) return null;
  const gaps: number[] = [];
  for (let i = 1; i < orders.length; i++) {
    const g = (orders[i].at.getTime() - orders[i - 1].at.getTime()) / DAY_MS;
    if (g >= 1) gaps.push(g);
  }
  const last = orders[orders.length - 1];
  const m = median(gaps);
  const medianGapDays = m === null ? null : Math.round(m * 100) / 100;
  return {
    category,
    orderCount: orders.length,
    lastOrderAt: last.at,
    lastOrderId: last.id,
    lastProduct: last.product,
    medianGapDays,
    expectedNextAt: medianGapDays === null ? null : new Date(last.at.getTime() + Math.round(medianGapDays * DAY_MS)),
  };
}

/** Recomputes customer_rhythm ('' = all orders, plus one row per category) for these customers. */
export async function refreshRhythm(em: EntityManager | DataSource, customerIds: string[], now: Date): Promise<void> {
  if (!customerIds.length) return;
  const rows: { customer_id: string; id: string; placed_at: Date; line: number | null; name: string | null; category: string | null }[] = await em.query(
    `SELECT o.customer_id, o.id, o.placed_at, i.line, i.name, i.category
     FROM shop_order o LEFT JOIN shop_order_item i ON i.shop_order_id = o.id
     WHERE o.customer_id IN (${customerIds.map(() => '?').join(',')})
     ORDER BY o.customer_id, o.placed_at, o.id, i.line
     LOCK IN SHARE MODE`,
    customerIds,
  );
  type Series = { id: string; at: Date; product: string | null }[];
  const byCustomer = new Map<string, Map<string, Series>>();
  for (const r of rows) {
    const cid = String(r.customer_id);
    let series = byCustomer.get(cid);
    if (!series) byCustomer.set(cid, (series = new Map()));
    const add = (category: string) => {
      let s = series!.get(category);
      if (!s) series!.set(category, (s = []));
      const last = s[s.length - 1];
      // one entry per order; its product is the first line of that category
      if (!last || last.id !== String(r.id)) s.push({ id: String(r.id), at: new Date(r.placed_at), product: r.name ?? null });
    };
    add('');
    if (r.category) add(r.category);
  }
  const values: unknown[] = [];
  let n = 0;
  for (const [cid, series] of byCustomer) {
    for (const [category, orders] of series) {
      const r = rhythmOf(category, orders);
      if (!r) continue;
      n++;
      values.push(cid, category, r.orderCount, r.lastOrderAt, r.lastOrderId, r.lastProduct?.slice(0, 255) ?? null, r.medianGapDays, r.expectedNextAt, now);
    }
  }
  if (!n) return;
  await em.query(
    `INSERT INTO customer_rhythm (customer_id, category, order_count, last_order_at, last_order_id, last_product, median_gap_days, expected_next_at, updated_at)
     VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(',')}
     ON DUPLICATE KEY UPDATE order_count = VALUES(order_count), last_order_at = VALUES(last_order_at), last_order_id = VALUES(last_order_id),
       last_product = VALUES(last_product), median_gap_days = VALUES(median_gap_days), expected_next_at = VALUES(expected_next_at), updated_at = VALUES(updated_at)`,
    values,
  );
}

export interface OrderView {
  orderId: string;
  total: string;
  currency: string;
  placedAt: string;
  couponCode: string | null;
  source: string;
  items: { sku: string; name: string; category: string; quantity: number; price: string }[];
}

/** Every order of a customer with its items, oldest first (the PIPL export). */
export async function ordersOf(db: DataSource, customerId: string): Promise<OrderView[]> {
  const orders: Record<string, unknown>[] = await db.query(
    `SELECT id, order_id, total, currency, placed_at, coupon_code, source FROM shop_order WHERE customer_id = ? ORDER BY placed_at, id`,
    [customerId],
  );
  if (!orders.length) return [];
  const items: Record<string, unknown>[] = await db.query(
    `SELECT shop_order_id, sku, name, category, quantity, price FROM shop_order_item WHERE shop_order_id IN (${orders.map(() => '?').join(',')}) ORDER BY shop_order_id, line`,
    orders.map((o) => o.id),
  );
  return orders.map((o) => ({
    orderId: o.order_id as string,
    total: String(o.total),
    currency: o.currency as string,
    placedAt: new Date(o.placed_at as string).toISOString(),
    couponCode: (o.coupon_code as string) ?? null,
    source: o.source as string,
    items: items
      .filter((i) => String(i.shop_order_id) === String(o.id))
      .map((i) => ({ sku: i.sku as string, name: i.name as string, category: i.category as string, quantity: Number(i.quantity), price: String(i.price) })),
  }));
}
