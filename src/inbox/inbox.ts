// The durable inbox: an inbound event is committed under its unique de-dup key before anyone
// acknowledges it; processing is driven from here, and a sweep finds events whose job was lost.
import type { DataSource, EntityManager } from 'typeorm';
import { InboundEvent, type InboundStatus } from '../../entities';
import { MicroBatcher } from '../platform/batcher';
import { isDuplicateKey } from '../platform/db';

export interface InboundRecord {
  channel: string;
  type: string;
  dedupKey: string;
  payload: Record<string, unknown>;
  receivedAt: Date;
}

export interface StoredEvent {
  id: string;
  status: InboundStatus;
  /** true when an event with this de-dup key was already stored */
  duplicate: boolean;
}

const INSERT_COLUMNS = '(channel, type, dedup_key, status, attempts, payload, received_at)';
/** payload characters per INSERT statement: at up to 3 UTF-8 bytes each, well under a 16 MB packet */
const MAX_STATEMENT_BYTES = 2 * 1024 * 1024;
const ROW = "(?, ?, ?, 'received', 0, ?, ?)";

/** How the server numbers the rows of one multi-row INSERT (read once per process). */
interface AutoIncrement {
  /** innodb_autoinc_lock_mode 0 or 1: one statement's ids are consecutive (steps of `step`) from insertId */
  consecutive: boolean;
  step: bigint;
}

export class Inbox {
  private readonly batcher: MicroBatcher<InboundRecord, StoredEvent>;
  private autoIncrement: Promise<AutoIncrement> | null = null;

  constructor(private readonly db: DataSource) {
    this.batcher = new MicroBatcher((items) => this.storeBatch(items), { maxBatch: 200, maxInFlight: 4 });
  }

  /** Resolves once the event is committed (or was already there). */
  store(record: InboundRecord): Promise<StoredEvent> {
    return this.batcher.submit(record);
  }

  private readAutoIncrement(): Promise<AutoIncrement> {
    this.autoIncrement ??= this.db
      .query(`SELECT @@innodb_autoinc_lock_mode AS mode, @@auto_increment_increment AS step`)
      .then(([row]: { mode: unknown; step: unknown }[]) => {
        const mode = Number(row?.mode);
        const step = Number(row?.step);
        return { consecutive: (mode === 0 || mode === 1) && Number.isInteger(step) && step >= 1, step: BigInt(Number.isInteger(step) && step >= 1 ? step : 1) };
      })
      .catch(() => {
        this.autoIncrement = null; // ask again next time; meanwhile read the ids back
        return { consecutive: false, step: 1n };
      });
    return this.autoIncrement;
  }

  /**
   * One INSERT per slice of at most MAX_STATEMENT_BYTES of payload: a burst of large emails must
   * not exceed the server's max_allowed_packet (16 MB by default on MariaDB) and fail them all.
   */
  private async storeBatch(items: InboundRecord[]): Promise<StoredEvent[]> {
    const json = items.map((r) => JSON.stringify(r.payload));
    const out: StoredEvent[] = [];
    for (let start = 0; start < items.length; ) {
      let end = start + 1;
      let bytes = json[start].length;
      while (end < items.length && bytes + json[end].length <= MAX_STATEMENT_BYTES) bytes += json[end++].length;
      out.push(...(await this.storeSlice(items.slice(start, end), json.slice(start, end))));
      start = end;
    }
    return out;
  }

  private async storeSlice(items: InboundRecord[], json: string[]): Promise<StoredEvent[]> {
    const inserted = new Set<string>();
    const payloadOf = new Map(items.map((r, i) => [r, json[i]]));
    const params = (r: InboundRecord) => [r.channel, r.type, r.dedupKey, payloadOf.get(r), r.receivedAt];
    const autoIncrement = await this.readAutoIncrement();
    try {
      const res: { affectedRows?: unknown; insertId?: unknown } = await this.db.query(
        `INSERT INTO inbound_event ${INSERT_COLUMNS} VALUES ${items.map(() => ROW).join(',')}`,
        items.flatMap(params),
      );
      items.forEach((r) => inserted.add(r.dedupKey));
      // every row is new: with consecutive auto-increment the ids follow from the first one, no read back
      if (autoIncrement.consecutive && Number(res?.affectedRows) === items.length && /^[1-9]\d*$/.test(String(res?.insertId))) {
        const first = BigInt(String(res.insertId));
        return items.map((_, k) => ({ id: String(first + BigInt(k) * autoIncrement.step), status: 'received' as InboundStatus, duplicate: false }));
      }
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // some are repeats: store one by one so each learns whether it was new
      for (const r of items) {
        if (inserted.has(r.dedupKey)) continue;
        try {
          await this.db.query(`INSERT INTO inbound_event ${INSERT_COLUMNS} VALUES ${ROW}`, params(r));
          inserted.add(r.dedupKey);
        } catch (e) {
          if (!isDuplicateKey(e)) throw e;
        }
      }
    }
    const keys = [...new Set(items.map((r) => r.dedupKey))];
    const rows: { id: string; dedup_key: string; status: InboundStatus }[] = await this.db.query(
      `SELECT id, dedup_key, status FROM inbound_event WHERE dedup_key IN (${keys.map(() => '?').join(',')})`,
      keys,
    );
    const byKey = new Map(rows.map((r) => [r.dedup_key, r]));
    const firstSeen = new Set<string>();
    return items.map((r) => {
      const row = byKey.get(r.dedupKey);
      if (!row) throw new Error(`inbound event ${r.dedupKey} vanished after insert`);
      const isNew = inserted.has(r.dedupKey) && !firstSeen.has(r.dedupKey);
      firstSeen.add(r.dedupKey);
      return { id: String(row.id), status: row.status, duplicate: !isNew };
    });
  }

  /** Events still `received` that arrived before `olderThan`, oldest first. */
  async unprocessedBefore(olderThan: Date, limit: number, afterId = '0'): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM inbound_event WHERE status = 'received' AND received_at < ? AND id > ? ORDER BY id LIMIT ?`,
      [olderThan, afterId, limit],
    );
    return rows.map((r) => String(r.id));
  }

  async lag(now: Date): Promise<{ oldestAgeSeconds: number; unprocessed: number }> {
    const [row] = await this.db.query(`SELECT MIN(received_at) AS oldest, COUNT(*) AS n FROM inbound_event WHERE status = 'received'`);
    const oldest = row?.oldest ? new Date(row.oldest) : null;
    return { oldestAgeSeconds: oldest ? Math.max(0, (now.getTime() - oldest.getTime()) / 1000) : 0, unprocessed: Number(row?.n ?? 0) };
  }

  async get(id: string): Promise<InboundEvent | null> {
    return this.db.getRepository(InboundEvent).findOneBy({ id });
  }

  /** Counts an attempt before the work starts, so a crash mid-job still shows it. */
  async markAttempt(id: string): Promise<void> {
    await this.db.query(`UPDATE inbound_event SET attempts = attempts + 1 WHERE id = ?`, [id]);
  }

  /**
   * Marks the event processed and links it to the customer it was about: the customer of the first
   * timeline line it made (every message, order and contact change leaves one), so an erasure or an
   * export finds the raw payload.
   */
  async markProcessed(id: string, at: Date): Promise<void> {
    await this.db.query(
      `UPDATE inbound_event SET status = 'processed', processed_at = ?, last_error = NULL,
         customer_id = COALESCE(customer_id, (SELECT t.customer_id FROM timeline_entry t WHERE t.inbound_event_id = ? ORDER BY t.id LIMIT 1))
       WHERE id = ?`,
      [at, id, id],
    );
  }

  /** Records the error; `final` marks the event failed (an operator can retry it). */
  async markError(id: string, error: string, final: boolean): Promise<void> {
    await this.db.query(`UPDATE inbound_event SET last_error = ?, status = IF(?, 'failed', status) WHERE id = ? AND status <> 'processed'`, [
      error.slice(0, 4000),
      final,
      id,
    ]);
  }

  /** Moves a failed event back to `received`; false when it is not failed. */
  async reopen(id: string): Promise<boolean> {
    const res = await this.db.query(`UPDATE inbound_event SET status = 'received' WHERE id = ? AND status = 'failed'`, [id]);
    return Number(res?.affectedRows ?? 0) > 0;
  }
}

export const INBOUND_STATUSES: InboundStatus[] = ['received', 'processed', 'failed'];

export interface InboundEventView {
  id: string;
  channel: string;
  type: string;
  dedupKey: string;
  customerId: string | null;
  status: InboundStatus;
  attempts: number;
  lastError: string | null;
  receivedAt: string;
  processedAt: string | null;
  payload: unknown;
}

function inboundEventView(r: Record<string, unknown>): InboundEventView {
  return {
    id: String(r.id),
    channel: r.channel as string,
    type: r.type as string,
    dedupKey: r.dedup_key as string,
    customerId: r.customer_id === null || r.customer_id === undefined ? null : String(r.customer_id),
    status: r.status as InboundStatus,
    attempts: Number(r.attempts),
    lastError: (r.last_error as string) ?? null,
    receivedAt: new Date(r.received_at as string).toISOString(),
    processedAt: r.processed_at ? new Date(r.processed_at as string).toISOString() : null,
    payload: typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload,
  };
}

/** The inbox for operators, newest first. */
export async function listInboundEvents(
  db: DataSource,
  q: { channel?: string; status?: InboundStatus; limit: number; afterId?: string },
): Promise<{ items: InboundEventView[]; lastId: string | null; more: boolean }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.channel) (where.push('channel = ?'), params.push(q.channel));
  if (q.status) (where.push('status = ?'), params.push(q.status));
  if (q.afterId) (where.push('id < ?'), params.push(q.afterId));
  const rows = await db.query(
    `SELECT * FROM inbound_event ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
    [...params, q.limit + 1],
  );
  const page = rows.slice(0, q.limit);
  return {
    items: page.map(inboundEventView),
    lastId: page.length ? String(page[page.length - 1].id) : null,
    more: rows.length > q.limit,
  };
}

/** Raw payloads stand in for the person until erased: the payload of an erased event. */
export const ERASED_PAYLOAD = { erased: true };

/**
 * PIPL erasure: the raw payloads linked to the customer (by `customer_id`, or by the ids the caller
 * found on their timeline) are replaced by `{"erased":true}`, their errors cleared, and their de-dup
 * keys (which can hold a phone number) replaced by a one-way hash — still unique. Returns how many.
 */
export async function eraseInboundPayloads(em: EntityManager, customerId: string, eventIds: string[]): Promise<number> {
  const extra = eventIds.filter((id) => /^\d+$/.test(id));
  const res = await em.query(
    `UPDATE inbound_event SET payload = ?, last_error = NULL, customer_id = ?,
       status = IF(status = 'received', status, 'processed'),
       dedup_key = IF(dedup_key LIKE 'erased:%', dedup_key, CONCAT('erased:', SHA2(dedup_key, 256)))
     WHERE customer_id = ?${extra.length ? ` OR id IN (${extra.map(() => '?').join(',')})` : ''}`,
    [JSON.stringify(ERASED_PAYLOAD), customerId, customerId, ...extra],
  );
  return Number(res?.affectedRows ?? 0);
}

/** The events linked to a customer, oldest first, with their payloads (the PIPL export). */
export async function inboundEventsOf(db: DataSource, customerId: string): Promise<InboundEventView[]> {
  const rows = await db.query(`SELECT * FROM inbound_event WHERE customer_id = ? ORDER BY id`, [customerId]);
  return rows.map(inboundEventView);
}

/**
 * INBOUND_PAYLOAD_RETENTION_DAYS: deletes up to `limit` stored events received before `before` that are
 * done with (processed or failed — one still waiting is kept until it is processed); the timeline parsed
 * from them stays. Returns how many went.
 */
export async function deleteInboundEventsBefore(db: DataSource, before: Date, limit: number): Promise<number> {
  const res = await db.query(`DELETE FROM inbound_event WHERE received_at < ? AND status <> 'received' ORDER BY received_at LIMIT ?`, [before, limit]);
  return Number(res?.affectedRows ?? 0);
}
