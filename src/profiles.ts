// Reading customers for people: the profile, search, and the timeline, newest first.
import type { DataSource } from 'typeorm';
import { IDENTITY_CHANNELS, type IdentityChannel } from '../entities';
import { normalizeEmail, normalizePhone } from './identity';
import { BadRequest, decodeCursor, encodeCursor, iso } from './paging';

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
  stats: { firstSeenAt: string | null; lastInteractionAt: string | null };
}

export async function getProfile(db: DataSource, id: string): Promise<Profile | null> {
  if (!/^\d{1,20}$/.test(id)) return null;
  const [c] = await db.query(`SELECT * FROM customer WHERE id = ?`, [id]);
  if (!c) return null;
  const [tags, identities, follows] = await Promise.all([
    db.query(
      `SELECT t.name, t.group_name, MIN(ct.source) AS source FROM customer_tag ct JOIN tag t ON t.id = ct.tag_id
       WHERE ct.customer_id = ? AND t.deleted = 0 GROUP BY t.id, t.name, t.group_name ORDER BY t.group_name, t.name`,
      [id],
    ),
    db.query(`SELECT channel, external_id FROM customer_identity WHERE customer_id = ? ORDER BY id`, [id]),
    db.query(`SELECT staff_user_id, remark, status, added_at, ended_at, ended_by FROM customer_follow WHERE customer_id = ? ORDER BY id`, [id]),
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
    stats: { firstSeenAt: iso(c.first_seen_at), lastInteractionAt: iso(c.last_interaction_at) },
  };
}

/** Normalises an identity value the way we store it (E.164 phones, lower-case emails). */
export function normalizeIdentity(channel: string, externalId: string): { channel: IdentityChannel; externalId: string } {
  if (!(IDENTITY_CHANNELS as readonly string[]).includes(channel)) {
    throw new BadRequest('channel', `identity channel must be one of ${IDENTITY_CHANNELS.join(', ')}`);
  }
  if (channel === 'phone') {
    const p = normalizePhone(externalId);
    if (!p) throw new BadRequest('externalId', 'not a phone number');
    return { channel, externalId: p };
  }
  if (channel === 'email') {
    const e = normalizeEmail(externalId);
    if (!e) throw new BadRequest('externalId', 'not an email address');
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
}

/** Search by name / phone / email / external id, filter by tag name, newest customers first. */
export async function listCustomers(
  db: DataSource,
  q: { q?: string; tag?: string; limit: number; cursor?: string },
): Promise<{ items: CustomerSummary[]; nextCursor: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const [after] = decodeCursor(q.cursor, 1) ?? [];
  if (after !== undefined) {
    if (!/^\d+$/.test(after)) throw new BadRequest('cursor', 'cursor is not one this API handed out');
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
  if (q.tag) {
    where.push(`c.id IN (SELECT ct.customer_id FROM customer_tag ct JOIN tag t ON t.id = ct.tag_id WHERE t.name = ? AND t.deleted = 0)`);
    params.push(q.tag);
  }
  const rows = await db.query(
    `SELECT c.id, c.name, c.phone, c.email, c.churn_risk, c.last_interaction_at FROM customer c
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
    if (Number.isNaN(at.getTime()) || !/^\d+$/.test(id)) throw new BadRequest('cursor', 'cursor is not one this API handed out');
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
