// Reading customers for people: the profile, search, and the timeline, newest first.
import type { DataSource, EntityManager } from 'typeorm';
import { IDENTITY_CHANNELS, LIFECYCLE_STAGES, type IdentityChannel, type LifecycleStage } from '../../entities';
import { normalizeEmail, normalizePhone } from './identity';
import { Invalid } from '../platform/errors';
import { decodeCursor, encodeCursor, iso } from '../platform/paging';

export interface Profile {
  id: string;
  name: string | null;
  phone: string | null;
  email: string | null;
  birthday: string | null;
  tags: { name: string; group: string | null; source: string }[];
  identities: { channel: string; externalId: string }[];
  follows: { staffUserId: string; remark: string | null; state: string; addedAt: string | null; endedAt: string | null; endedBy: string | null }[];
  churnRisk: boolean;
  notes: string | null;
  /** when the person's data was erased (PIPL); null while it is held */
  erasedAt: string | null;
  lifecycleStage: LifecycleStage;
  /** start of the current dormancy spell; null while active */
  dormantSince: string | null;
  /** 1–5 by quintile over customers with orders (nightly); null without orders or before the first run */
  rfm: { r: number | null; f: number | null; m: number | null };
  stats: {
    firstSeenAt: string | null;
    lastInteractionAt: string | null;
    /** last message from the customer, any channel */
    lastInboundAt: string | null;
    lastOrderAt: string | null;
    orderCount: number;
    /** decimal string, e.g. '1234.50' */
    totalSpent: string;
  };
  /** purchase rhythm: '' = all categories, then one per category */
  rhythm: { category: string; orderCount: number; medianGapDays: number | null; expectedNextAt: string | null; lastOrderAt: string; lastProduct: string | null }[];
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

const isCustomerId = (id: string) => /^\d{1,20}$/.test(id);

/** The customer's addresses for sending (null: no such customer, or not a customer id). */
export async function findCustomerContact(db: DataSource, id: string): Promise<{ id: string; phone: string | null; email: string | null } | null> {
  if (!isCustomerId(id)) return null;
  const [row] = await db.query('SELECT id, phone, email FROM customer WHERE id = ?', [id]);
  return row ? { id: String(row.id), phone: row.phone, email: row.email } : null;
}

export async function customerExists(db: DataSource, id: string): Promise<boolean> {
  return isCustomerId(id) && (await db.query('SELECT id FROM customer WHERE id = ?', [id])).length > 0;
}

export async function getProfile(db: DataSource, id: string): Promise<Profile | null> {
  if (!/^\d{1,20}$/.test(id)) return null;
  const [c] = await db.query(`SELECT * FROM customer WHERE id = ?`, [id]);
  if (!c) return null;
  const [tags, identities, follows, rhythm] = await Promise.all([
    db.query(
      `SELECT t.name, t.group_name, MIN(ct.source) AS source FROM customer_tag ct JOIN tag t ON t.id = ct.tag_id
       WHERE ct.customer_id = ? AND t.deleted = 0 GROUP BY t.id, t.name, t.group_name ORDER BY t.group_name, t.name`,
      [id],
    ),
    db.query(`SELECT channel, external_id FROM customer_identity WHERE customer_id = ? ORDER BY id`, [id]),
    db.query(`SELECT staff_user_id, remark, status, added_at, ended_at, ended_by FROM customer_follow WHERE customer_id = ? ORDER BY id`, [id]),
    db.query(
      `SELECT category, order_count, median_gap_days, expected_next_at, last_order_at, last_product FROM customer_rhythm WHERE customer_id = ? ORDER BY category`,
      [id],
    ),
  ]);
  return {
    id: String(c.id),
    name: c.name,
    phone: c.phone,
    email: c.email,
    birthday: c.birthday,
    tags: tags.map((t: Record<string, string>) => ({ name: t.name, group: t.group_name ?? null, source: t.source })),
    identities: identities.map((i: Record<string, string>) => ({ channel: i.channel, externalId: i.external_id })),
    follows: follows.map((f: Record<string, string | null>) => ({
      staffUserId: f.staff_user_id,
      remark: f.remark,
      state: f.status,
      addedAt: iso(f.added_at),
      endedAt: iso(f.ended_at),
      endedBy: f.ended_by,
    })),
    churnRisk: Boolean(Number(c.churn_risk)),
    notes: c.notes ?? null,
    erasedAt: iso(c.erased_at),
    lifecycleStage: c.lifecycle_stage,
    dormantSince: iso(c.dormant_since),
    rfm: { r: num(c.rfm_r), f: num(c.rfm_f), m: num(c.rfm_m) },
    stats: {
      firstSeenAt: iso(c.first_seen_at),
      lastInteractionAt: iso(c.last_interaction_at),
      lastInboundAt: iso(c.last_inbound_at),
      lastOrderAt: iso(c.last_order_at),
      orderCount: Number(c.order_count),
      totalSpent: String(c.total_spent),
    },
    rhythm: rhythm.map((r: Record<string, unknown>) => ({
      category: r.category as string,
      orderCount: Number(r.order_count),
      medianGapDays: num(r.median_gap_days),
      expectedNextAt: iso(r.expected_next_at as Date | null),
      lastOrderAt: iso(r.last_order_at as Date)!,
      lastProduct: (r.last_product as string) ?? null,
    })),
  };
}

/** Normalises an identity value the way we store it (E.164 phones, lower-case emails). */
export function normalizeIdentity(channel: string, externalId: string): { channel: IdentityChannel; externalId: string } {
  if (!(IDENTITY_CHANNELS as readonly string[]).includes(channel)) {
    throw new Invalid('channel', `identity channel must be one of ${IDENTITY_CHANNELS.join(', ')}`);
  }
  if (channel === 'phone') {
    const p = normalizePhone(externalId);
    if (!p) throw new Invalid('externalId', 'not a phone number');
    return { channel, externalId: p };
  }
  if (channel === 'email') {
    const e = normalizeEmail(externalId);
    if (!e) throw new Invalid('externalId', 'not an email address');
    return { channel, externalId: e };
  }
  return { channel: channel as IdentityChannel, externalId };
}

export async function findCustomerIdByIdentity(db: DataSource, channel: string, externalId: string): Promise<string | null> {
  const ref = normalizeIdentity(channel, externalId);
  const [row] = await db.query(`SELECT customer_id FROM customer_identity WHERE channel = ? AND external_id = ?`, [ref.channel, ref.externalId]);
  return row ? String(row.customer_id) : null;
}

export interface CustomerSummary {
  id: string;
  name: string | null;
  phone: string | null;
  email: string | null;
  churnRisk: boolean;
  lastInteractionAt: string | null;
  lifecycleStage: LifecycleStage;
  rfm: { r: number | null; f: number | null; m: number | null };
}

/** `rfm=` filter: one score (`r5`, `f1`, `m3`) or all three (`555`, in R, F, M order). */
export function parseRfmFilter(raw: string): { r?: number; f?: number; m?: number } {
  const one = /^([rfmRFM])([1-5])$/.exec(raw);
  if (one) return { [one[1].toLowerCase()]: Number(one[2]) };
  const all = /^([1-5])([1-5])([1-5])$/.exec(raw);
  if (all) return { r: Number(all[1]), f: Number(all[2]), m: Number(all[3]) };
  throw new Invalid('rfm', 'must be one score like r5, f1, m3, or all three in R, F, M order like 555');
}

/** Search by name / phone / email / external id, filter by tag name, newest customers first. */
export async function listCustomers(
  db: DataSource,
  q: { q?: string; tag?: string; stage?: string; rfm?: string; limit: number; cursor?: string },
): Promise<{ items: CustomerSummary[]; nextCursor: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const [after] = decodeCursor(q.cursor, 1) ?? [];
  if (after !== undefined) {
    if (!/^\d+$/.test(after)) throw new Invalid('cursor', 'cursor is not one this API handed out');
    where.push('c.id < ?');
    params.push(after);
  }
  const term = q.q?.trim();
  if (term) {
    const exact = [term, normalizePhone(term), normalizeEmail(term)].filter((v): v is string => !!v);
    where.push(
      `(c.name LIKE ? OR c.id IN (SELECT customer_id FROM customer_identity WHERE external_id IN (${exact.map(() => '?').join(',')})))`,
    );
    params.push(`%${term.replace(/[\\%_]/g, (m) => `\\${m}`)}%`, ...exact);
  }
  if (q.stage !== undefined) {
    if (!(LIFECYCLE_STAGES as string[]).includes(q.stage)) throw new Invalid('stage', `must be one of ${LIFECYCLE_STAGES.join(', ')}`);
    where.push('c.lifecycle_stage = ?');
    params.push(q.stage);
  }
  if (q.rfm !== undefined) {
    const scores = parseRfmFilter(q.rfm);
    for (const k of ['r', 'f', 'm'] as const) {
      if (scores[k] === undefined) continue;
      where.push(`c.rfm_${k} = ?`);
      params.push(scores[k]);
    }
  }
  if (q.tag) {
    where.push(`c.id IN (SELECT ct.customer_id FROM customer_tag ct JOIN tag t ON t.id = ct.tag_id WHERE t.name = ? AND t.deleted = 0)`);
    params.push(q.tag);
  }
  const rows = await db.query(
    `SELECT c.id, c.name, c.phone, c.email, c.churn_risk, c.last_interaction_at, c.lifecycle_stage, c.rfm_r, c.rfm_f, c.rfm_m FROM customer c
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY c.id DESC LIMIT ?`,
    [...params, q.limit + 1],
  );
  const page = rows.slice(0, q.limit);
  return {
    items: page.map((r: Record<string, unknown>) => ({
      id: String(r.id),
      name: (r.name as string) ?? null,
      phone: (r.phone as string) ?? null,
      email: (r.email as string) ?? null,
      churnRisk: Boolean(Number(r.churn_risk)),
      lastInteractionAt: iso(r.last_interaction_at as Date | null),
      lifecycleStage: r.lifecycle_stage as LifecycleStage,
      rfm: { r: num(r.rfm_r), f: num(r.rfm_f), m: num(r.rfm_m) },
    })),
    nextCursor: rows.length > q.limit ? encodeCursor([String(page[page.length - 1].id)]) : null,
  };
}

export interface TimelineItem {
  id: string;
  channel: string;
  direction: string;
  kind: string;
  text: string | null;
  occurredAt: string;
  staff: string | null;
}

export async function timelinePage(db: DataSource, customerId: string, limit: number, cursor?: string): Promise<{ items: TimelineItem[]; nextCursor: string | null }> {
  const after = decodeCursor(cursor, 2);
  const params: unknown[] = [customerId];
  let cond = '';
  if (after) {
    const [t, id] = after;
    const at = new Date(t);
    if (Number.isNaN(at.getTime()) || !/^\d+$/.test(id)) throw new Invalid('cursor', 'cursor is not one this API handed out');
    cond = ' AND (occurred_at < ? OR (occurred_at = ? AND id < ?))';
    params.push(at, at, id);
  }
  const rows = await db.query(
    `SELECT id, channel, direction, kind, text, occurred_at, staff_user_id FROM timeline_entry
     WHERE customer_id = ?${cond} ORDER BY occurred_at DESC, id DESC LIMIT ?`,
    [...params, limit + 1],
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r: Record<string, unknown>) => ({
      id: String(r.id),
      channel: r.channel as string,
      direction: r.direction as string,
      kind: r.kind as string,
      text: (r.text as string) ?? null,
      occurredAt: iso(r.occurred_at as Date)!,
      staff: (r.staff_user_id as string) ?? null,
    })),
    nextCursor: rows.length > limit ? encodeCursor([iso(last.occurred_at)!, String(last.id)]) : null,
  };
}

/** The whole timeline of a customer, oldest first, with each line's data (the PIPL export). */
export async function fullTimeline(db: DataSource, customerId: string): Promise<(TimelineItem & { data: unknown })[]> {
  const rows: Record<string, unknown>[] = await db.query(
    `SELECT id, channel, direction, kind, text, occurred_at, staff_user_id, data FROM timeline_entry WHERE customer_id = ? ORDER BY occurred_at, id`,
    [customerId],
  );
  return rows.map((r) => ({
    id: String(r.id),
    channel: r.channel as string,
    direction: r.direction as string,
    kind: r.kind as string,
    text: (r.text as string) ?? null,
    occurredAt: iso(r.occurred_at as Date)!,
    staff: (r.staff_user_id as string) ?? null,
    data: typeof r.data === 'string' ? JSON.parse(r.data) : (r.data ?? null),
  }));
}

/**
 * The addresses a customer holds for a consent channel (sms → phones, email → emails), normalised:
 * their identities, and with `withPrimary` also the primary phone/email on the row (an opt-out
 * covers both; an opt-in lifts only what is theirs by identity).
 */
export async function customerAddresses(db: DataSource | EntityManager, customerId: string, channel: 'sms' | 'email', withPrimary: boolean): Promise<string[]> {
  const kind = channel === 'sms' ? 'phone' : 'email';
  const rows: { external_id: string }[] = await db.query(`SELECT external_id FROM customer_identity WHERE customer_id = ? AND channel = ?`, [customerId, kind]);
  const out = new Set(rows.map((r) => r.external_id));
  if (withPrimary) {
    const [c] = await db.query(`SELECT phone, email FROM customer WHERE id = ?`, [customerId]);
    const primary = channel === 'sms' ? normalizePhone(c?.phone) : normalizeEmail(c?.email);
    if (primary) out.add(primary);
  }
  return [...out];
}
