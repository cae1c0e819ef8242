// Customers and their identities: find the one person behind any identity, or create them.
import type { EntityManager } from 'typeorm';
import type { IdentityChannel } from '../../entities';
import { churnIfWalkedAway, refreshLifecycle, type LifecycleThresholds } from './lifecycle';

export interface IdentityRef {
  channel: IdentityChannel;
  externalId: string;
}

export interface CustomerPatch {
  name?: string | null;
  avatar?: string | null;
  gender?: number | null;
}

/**
 * Returns the customer that any of `identities` points at (the first identity in the list wins
 * when they disagree), creating one when none does, and attaches the identities it lacks.
 * An identity that already belongs to another customer stays where it is.
 */
export async function resolveCustomer(
  em: EntityManager,
  identities: IdentityRef[],
  seenAt: Date,
  now: Date,
): Promise<{ customerId: string; created: boolean }> {
  const wanted = dedupeIdentities(identities);
  if (wanted.length === 0) throw new Error('resolveCustomer needs at least one identity');
  const rows: { customer_id: string; channel: string; external_id: string }[] = await em.query(
    `SELECT customer_id, channel, external_id FROM customer_identity WHERE ${wanted.map(() => '(channel = ? AND external_id = ?)').join(' OR ')} FOR UPDATE`,
    wanted.flatMap((i) => [i.channel, i.externalId]),
  );
  const owner = new Map(rows.map((r) => [`${r.channel}\u0000${r.external_id}`, String(r.customer_id)]));
  let customerId = wanted.map((i) => owner.get(`${i.channel}\u0000${i.externalId}`)).find((id) => id !== undefined);
  let created = false;
  if (!customerId) {
    const res = await em.query(
      `INSERT INTO customer (first_seen_at, created_at, updated_at, churn_risk) VALUES (?, ?, ?, 0)`,
      [seenAt, now, now],
    );
    customerId = String(res.insertId);
    created = true;
  }
  const missing = wanted.filter((i) => !owner.has(`${i.channel}\u0000${i.externalId}`));
  if (missing.length) {
    // a racing worker may insert the same identity first: the duplicate-key error rolls the whole
    // unit back and inTransaction runs it again, when it finds the winner's customer
    await em.query(
      `INSERT INTO customer_identity (customer_id, channel, external_id, created_at) VALUES ${missing.map(() => '(?, ?, ?, ?)').join(',')}`,
      missing.flatMap((i) => [customerId, i.channel, i.externalId, now]),
    );
  }
  await fillPrimaryContact(em, customerId, wanted, now);
  return { customerId, created };
}

function dedupeIdentities(ids: IdentityRef[]): IdentityRef[] {
  const seen = new Set<string>();
  return ids.filter((i) => {
    const k = `${i.channel}\u0000${i.externalId}`;
    if (!i.externalId || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Sets customer.phone / customer.email from identities when the profile has none yet. */
async function fillPrimaryContact(em: EntityManager, customerId: string, ids: IdentityRef[], now: Date): Promise<void> {
  const phone = ids.find((i) => i.channel === 'phone')?.externalId;
  const email = ids.find((i) => i.channel === 'email')?.externalId;
  if (!phone && !email) return;
  await em.query(
    `UPDATE customer SET phone = COALESCE(phone, ?), email = COALESCE(email, ?), updated_at = ? WHERE id = ?`,
    [phone ?? null, email ?? null, now, customerId],
  );
}

export async function updateCustomer(em: EntityManager, customerId: string, patch: CustomerPatch, now: Date): Promise<void> {
  const sets: string[] = [];
  const params: unknown[] = [];
  for (const [col, value] of [
    ['name', patch.name],
    ['avatar', patch.avatar],
    ['gender', patch.gender],
  ] as const) {
    if (value === undefined || value === null || value === '') continue;
    sets.push(`${col} = ?`);
    params.push(value);
  }
  if (!sets.length) return;
  await em.query(`UPDATE customer SET ${sets.join(', ')}, updated_at = ? WHERE id = ?`, [...params, now, customerId]);
}

/**
 * Fills the name (and the birthday) only where the profile has none yet — what an order or a message
 * tells us never overwrites what we know. With `now`, updated_at is stamped.
 */
export async function fillCustomerBlanks(
  em: EntityManager,
  customerId: string,
  fields: { name?: string | null; birthday?: string | null },
  now?: Date,
): Promise<void> {
  const cols = (['name', 'birthday'] as const).filter((c) => c in fields);
  if (!cols.length) return;
  const sets = cols.map((c) => `${c} = COALESCE(${c}, ?)`);
  const params: unknown[] = cols.map((c) => fields[c] ?? null);
  if (now) (sets.push('updated_at = ?'), params.push(now));
  await em.query(`UPDATE customer SET ${sets.join(', ')} WHERE id = ?`, [...params, customerId]);
}

/**
 * Order count, total spent, last order and first seen of these customers from their orders as they
 * now stand: the derived table is read with locks (an UPDATE's), so orders committed by other
 * transactions after this one began are counted too.
 */
export async function refreshOrderStats(em: EntityManager, customerIds: string[]): Promise<void> {
  if (!customerIds.length) return;
  const list = customerIds.map(() => '?').join(',');
  await em.query(
    `UPDATE customer c JOIN (
       SELECT customer_id, COUNT(*) AS n, SUM(total) AS spent, MAX(placed_at) AS last_at, MIN(placed_at) AS first_at
       FROM shop_order WHERE customer_id IN (${list}) GROUP BY customer_id
     ) o ON o.customer_id = c.id
     SET c.order_count = o.n, c.total_spent = o.spent, c.last_order_at = o.last_at, c.first_seen_at = LEAST(c.first_seen_at, o.first_at)`,
    customerIds,
  );
}

/** Locks the customer's row until the transaction ends; false when there is no such customer (any more). */
export async function lockCustomer(em: EntityManager, customerId: string): Promise<boolean> {
  const [row] = await em.query(`SELECT id FROM customer WHERE id = ? FOR UPDATE`, [customerId]);
  return Boolean(row);
}

/** Widens first-seen / last-interaction to include `at`. */
export async function touchCustomer(em: EntityManager, customerId: string, at: Date, interaction: boolean): Promise<void> {
  await em.query(
    `UPDATE customer SET first_seen_at = LEAST(first_seen_at, ?)${interaction ? ', last_interaction_at = GREATEST(COALESCE(last_interaction_at, ?), ?)' : ''} WHERE id = ?`,
    interaction ? [at, at, at, customerId] : [at, customerId],
  );
}

export async function setChurnRisk(em: EntityManager, customerId: string, atRisk: boolean, now: Date): Promise<void> {
  await em.query(`UPDATE customer SET churn_risk = ?, updated_at = ? WHERE id = ?`, [atRisk, now, customerId]);
  // the customer deleted every staff member: churned at once (src/lifecycle.ts); the way back, when
  // they add us again, needs the thresholds and is taken on their next order or message, or nightly
  if (atRisk) await churnIfWalkedAway(em, customerId);
}

/**
 * A message FROM the customer arrived (any channel): moves last_inbound_at forward (never back — a
 * late, older message leaves it), which ends a dormancy spell, and recomputes the lifecycle stage.
 */
export async function recordInboundActivity(em: EntityManager, customerId: string, at: Date, now: Date, thresholds: LifecycleThresholds): Promise<void> {
  await em.query(`UPDATE customer SET last_inbound_at = GREATEST(COALESCE(last_inbound_at, ?), ?) WHERE id = ?`, [at, at, customerId]);
  await refreshLifecycle(em, [customerId], now, thresholds);
}

/**
 * A birthday as we store it: `YYYY-MM-DD`, or `--MM-DD` when the year is unknown; null when `raw` is
 * not a real date (2023-02-29, 13/01, 04-31). `--02-29` is allowed (greeted on 28 February in other years).
 */
export function parseBirthday(raw: string): string | null {
  const m = /^(?:(\d{4})|-)-(\d{2})-(\d{2})$/.exec(raw.trim());
  if (!m) return null;
  const year = m[1] ? Number(m[1]) : 2000; // a leap year, so --02-29 passes
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 1900 || year > 2100) return null;
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  return `${m[1] ?? '-'}-${m[2]}-${m[3]}`;
}

/** The addresses a customer can be reached at: the profile's phone and email and every identity. */
export interface CustomerAddresses {
  phone: string | null;
  email: string | null;
  identities: IdentityRef[];
}

/**
 * PIPL erasure of the customer's own row and identities (under the caller's transaction, after
 * lockCustomer): every identity goes (a later message from the same number or WeChat id makes a new
 * customer), and the name, phone, email, birthday, avatar, gender and notes are cleared. The row stays,
 * anonymous and marked `erased_at`, for the orders the shop's accounts need. Returns what it held.
 */
export async function eraseCustomerRow(em: EntityManager, customerId: string, now: Date): Promise<CustomerAddresses> {
  const [c] = await em.query(`SELECT phone, email FROM customer WHERE id = ?`, [customerId]);
  const ids: { channel: IdentityChannel; external_id: string }[] = await em.query(
    `SELECT channel, external_id FROM customer_identity WHERE customer_id = ?`,
    [customerId],
  );
  await em.query(`DELETE FROM customer_identity WHERE customer_id = ?`, [customerId]);
  await em.query(
    `UPDATE customer SET name = NULL, phone = NULL, email = NULL, birthday = NULL, avatar = NULL, gender = NULL, notes = NULL,
       erased_at = COALESCE(erased_at, ?), updated_at = ? WHERE id = ?`,
    [now, now, customerId],
  );
  return { phone: c?.phone ?? null, email: c?.email ?? null, identities: ids.map((i) => ({ channel: i.channel, externalId: i.external_id })) };
}
