// The customer timeline: every message and event, in and out. (channel, provider id) makes each
// entry idempotent, so a retried job or a repeat delivery never adds a second line. The only module
// that writes `timeline_entry`: every room that has something to show calls it.
import type { EntityManager } from 'typeorm';
import type { Direction } from '../../entities';

export interface NewTimelineEntry {
  customerId: string;
  channel: string;
  direction: Direction;
  kind: string;
  text: string | null;
  occurredAt: Date;
  staffUserId?: string | null;
  providerId: string;
  inboundEventId?: string | null;
  data?: Record<string, unknown> | null;
}

const COLUMNS = '(customer_id, channel, direction, kind, text, occurred_at, staff_user_id, provider_id, inbound_event_id, data, created_at)';
const ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

function values(e: NewTimelineEntry, now: Date): unknown[] {
  return [
    e.customerId,
    e.channel,
    e.direction,
    e.kind,
    // TEXT holds 65,535 bytes: 16,000 characters fit even at 4 bytes each
    e.text && e.text.length > 16_000 ? `${e.text.slice(0, 15_999)}…` : e.text,
    e.occurredAt,
    e.staffUserId ?? null,
    e.providerId,
    e.inboundEventId ?? null,
    e.data ? JSON.stringify(e.data) : null,
    now,
  ];
}

/** Inserts the entry unless one with the same (channel, providerId) exists; true when inserted. */
export async function appendTimeline(em: EntityManager, e: NewTimelineEntry, now: Date): Promise<boolean> {
  const res = await em.query(`INSERT INTO timeline_entry ${COLUMNS} VALUES ${ROW} ON DUPLICATE KEY UPDATE id = id`, values(e, now));
  return Number(res.affectedRows) === 1 && Number(res.insertId) > 0;
}

/** Many entries in one statement, each unless its (channel, providerId) exists. */
export async function appendTimelineEntries(em: EntityManager, entries: NewTimelineEntry[], now: Date): Promise<void> {
  if (!entries.length) return;
  await em.query(
    `INSERT INTO timeline_entry ${COLUMNS} VALUES ${entries.map(() => ROW).join(',')} ON DUPLICATE KEY UPDATE id = id`,
    entries.flatMap((e) => values(e, now)),
  );
}

/**
 * PIPL erasure: the customer's timeline keeps its shape (channel, direction, kind, time — what the
 * contact policy and reports count) but loses its texts and data; the provider id, which can hold a
 * phone number, becomes its one-way hash (still unique). Returns the inbound events the lines came from.
 */
export async function eraseTimelineTexts(em: EntityManager, customerId: string): Promise<string[]> {
  const events: { inbound_event_id: string }[] = await em.query(
    `SELECT DISTINCT inbound_event_id FROM timeline_entry WHERE customer_id = ? AND inbound_event_id IS NOT NULL`,
    [customerId],
  );
  await em.query(
    `UPDATE timeline_entry SET text = NULL, data = NULL,
       provider_id = IF(provider_id LIKE 'erased:%', provider_id, CONCAT('erased:', SHA2(provider_id, 256)))
     WHERE customer_id = ?`,
    [customerId],
  );
  return events.map((e) => String(e.inbound_event_id));
}
