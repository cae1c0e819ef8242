// Delivery rows: one per outbound message, unique by idempotency key, moving
// queued → sent → delivered | failed | suppressed. The send checks consent again at send time.
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { ChannelAdapter, InboundStatusItem, OutboundMessage, SendChannel } from '../channels/channel';
import { ProviderError } from '../channels/channel';
import type { DeliveryStatus } from '../entities';
import { isOptedOut } from './consent';
import { touchCustomer } from './customers';
import { BadRequest, decodeCursor, encodeCursor, iso } from './paging';
import { appendTimeline } from './timeline';

export interface DeliveryContent {
  text: string;
  subject?: string;
  html?: string;
  templateId?: string;
  signName?: string;
  params?: string[];
  unsubscribeUrl?: string;
  inReplyTo?: string;
  references?: string[];
}

export interface NewDelivery {
  customerId: string;
  channel: SendChannel;
  provider: string;
  purpose: string;
  marketing: boolean;
  idempotencyKey: string;
  toAddress: string;
  content: DeliveryContent;
  requestedBy?: string | null;
  /** domain for our email Message-IDs */
  messageIdDomain?: string;
}

/** Creates the row (and its timeline line) unless the idempotency key exists; returns its id either way. */
export async function createDelivery(em: EntityManager, d: NewDelivery, now: Date): Promise<{ id: string; created: boolean }> {
  const messageId = d.channel === 'email' ? `<${randomUUID()}@${d.messageIdDomain ?? 'touchpoint.invalid'}>` : null;
  const res = await em.query(
    `INSERT INTO delivery (customer_id, channel, provider, purpose, marketing, idempotency_key, status, to_address, content, message_id, requested_by, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id`,
    [d.customerId, d.channel, d.provider, d.purpose, d.marketing, d.idempotencyKey, d.toAddress, JSON.stringify(d.content), messageId, d.requestedBy ?? null, now, now],
  );
  if (Number(res.insertId) > 0) {
    const id = String(res.insertId);
    await appendTimeline(
      em,
      {
        customerId: d.customerId,
        channel: d.channel,
        direction: 'out',
        kind: 'message',
        text: d.content.subject ? `${d.content.subject}\n\n${d.content.text}` : d.content.text,
        occurredAt: now,
        staffUserId: null,
        providerId: `delivery:${id}`,
        data: { deliveryId: id, purpose: d.purpose, requestedBy: d.requestedBy ?? undefined },
      },
      now,
    );
    return { id, created: true };
  }
  const [row] = await em.query(`SELECT id FROM delivery WHERE idempotency_key = ?`, [d.idempotencyKey]);
  return { id: String(row.id), created: false };
}

export interface DeliveryRow {
  id: string;
  customer_id: string;
  channel: SendChannel;
  provider: string;
  purpose: string;
  marketing: number;
  status: DeliveryStatus;
  to_address: string;
  content: DeliveryContent | string;
  message_id: string | null;
  attempts: number;
}

function content(row: DeliveryRow): DeliveryContent {
  return typeof row.content === 'string' ? JSON.parse(row.content) : row.content;
}

export function toOutbound(row: DeliveryRow): OutboundMessage {
  const c = content(row);
  if (row.channel === 'sms') {
    return { kind: 'sms', to: row.to_address, templateId: c.templateId ?? '', signName: c.signName ?? '', params: c.params ?? [], text: c.text, marketing: Boolean(Number(row.marketing)), reference: String(row.id) };
  }
  return {
    kind: 'email',
    to: row.to_address,
    subject: c.subject ?? '',
    text: c.text,
    html: c.html,
    messageId: row.message_id ?? `<${row.id}@touchpoint.invalid>`,
    unsubscribeUrl: c.unsubscribeUrl,
    marketing: Boolean(Number(row.marketing)),
    inReplyTo: c.inReplyTo,
    references: c.references,
    reference: String(row.id),
  };
}

export type SendOutcome = 'sent' | 'delivered' | 'suppressed' | 'failed' | 'skipped' | 'retry';

/** What the send job needs; `final` says no Bull retry is left after this attempt. */
export interface SendDeps {
  db: DataSource;
  adapters: Partial<Record<SendChannel, ChannelAdapter | null>>;
  now(): Date;
}

/**
 * Sends one queued delivery: consent (checked now, not at enqueue) → adapter → row updated.
 * A transient provider error leaves it queued and throws, so the job retries with backoff;
 * a permanent one (or the last attempt) marks it failed.
 */
export async function sendDelivery(deps: SendDeps, deliveryId: string, final: boolean): Promise<SendOutcome> {
  const [row]: DeliveryRow[] = await deps.db.query(`SELECT * FROM delivery WHERE id = ?`, [deliveryId]);
  if (!row || row.status !== 'queued') return 'skipped';
  if (row.purpose !== 'transactional' && (await isOptedOut(deps.db, row.customer_id, row.channel))) {
    await finish(deps, row.id, 'suppressed', { code: 'opted_out', text: `the customer opted out of ${row.channel}` });
    return 'suppressed';
  }
  const adapter = deps.adapters[row.channel];
  if (!adapter) {
    await finish(deps, row.id, 'failed', { code: 'channel_off', text: `${row.channel} sending is not configured` });
    return 'failed';
  }
  await deps.db.query(`UPDATE delivery SET attempts = attempts + 1, updated_at = ? WHERE id = ?`, [deps.now(), row.id]);
  try {
    const result = await adapter.send(toOutbound(row));
    const now = deps.now();
    await deps.db.query(
      `UPDATE delivery SET status = IF(status = 'queued', ?, status), provider_ref = COALESCE(?, provider_ref), sent_at = ?,
         delivered_at = IF(? = 'delivered', ?, delivered_at), error_code = NULL, error_text = NULL, updated_at = ? WHERE id = ?`,
      [result.status, result.providerRef, now, result.status, now, now, row.id],
    );
    return result.status;
  } catch (err) {
    const pe = err instanceof ProviderError ? err : new ProviderError((err as Error).message ?? String(err), 'error', false);
    if (pe.permanent || final) {
      await finish(deps, row.id, 'failed', { code: pe.code, text: pe.message });
      return 'failed';
    }
    await deps.db.query(`UPDATE delivery SET error_code = ?, error_text = ?, updated_at = ? WHERE id = ?`, [pe.code.slice(0, 64), pe.message.slice(0, 2000), deps.now(), row.id]);
    throw pe;
  }
}

async function finish(deps: SendDeps, id: string, status: 'failed' | 'suppressed', error: { code: string; text: string }): Promise<void> {
  const now = deps.now();
  await deps.db.query(
    `UPDATE delivery SET status = ?, error_code = ?, error_text = ?, failed_at = IF(? = 'failed', ?, failed_at), updated_at = ? WHERE id = ? AND status = 'queued'`,
    [status, error.code.slice(0, 64), error.text.slice(0, 2000), status, now, now, id],
  );
}

export class DeliveryNotFound extends Error {}

/**
 * Moves a delivery along from a provider's status report. Found by our reference (echoed id) or
 * the provider's id. `delivered` and `failed` are final; a report never moves a row backwards.
 */
export async function applyDeliveryStatus(em: EntityManager, s: InboundStatusItem, now: Date): Promise<void> {
  const rows: { id: string; customer_id: string; status: DeliveryStatus }[] =
    s.reference && /^\d+$/.test(s.reference)
      ? await em.query(`SELECT id, customer_id, status FROM delivery WHERE id = ? AND provider = ? FOR UPDATE`, [s.reference, s.provider])
      : await em.query(`SELECT id, customer_id, status FROM delivery WHERE provider = ? AND provider_ref = ? FOR UPDATE`, [s.provider, s.providerRef]);
  const row = rows[0];
  // the report can outrun our own 'sent' update: throwing lets the job retry shortly
  if (!row) throw new DeliveryNotFound(`no ${s.provider} delivery for ${s.reference ? `reference ${s.reference}` : `provider ref ${s.providerRef}`}`);
  const at = s.at ? new Date(s.at) : now;
  if (s.status === 'delivered') {
    await em.query(
      `UPDATE delivery SET status = 'delivered', delivered_at = ?, provider_ref = COALESCE(provider_ref, ?), error_code = NULL, error_text = NULL, updated_at = ?
       WHERE id = ? AND status IN ('queued', 'sent')`,
      [at, s.providerRef, now, row.id],
    );
  } else if (s.status === 'failed') {
    await em.query(
      `UPDATE delivery SET status = 'failed', failed_at = ?, provider_ref = COALESCE(provider_ref, ?), error_code = ?, error_text = ?, updated_at = ?
       WHERE id = ? AND status IN ('queued', 'sent')`,
      [at, s.providerRef, (s.code ?? 'failed').slice(0, 64), (s.description ?? s.code ?? '').slice(0, 2000), now, row.id],
    );
  } else {
    await em.query(`UPDATE delivery SET status = 'sent', sent_at = COALESCE(sent_at, ?), provider_ref = COALESCE(provider_ref, ?), updated_at = ? WHERE id = ? AND status = 'queued'`, [
      at,
      s.providerRef,
      now,
      row.id,
    ]);
  }
  await touchCustomer(em, row.customer_id, at, false);
}

/** The delivery an email reply answers, by In-Reply-To then References (newest first). */
export async function findDeliveryByMessageIds(em: EntityManager, ids: string[]): Promise<{ id: string; customer_id: string } | null> {
  for (const id of ids) {
    if (!id) continue;
    const normalized = id.startsWith('<') ? id : `<${id}>`;
    const [row] = await em.query(`SELECT id, customer_id FROM delivery WHERE message_id = ? AND channel = 'email'`, [normalized]);
    if (row) return { id: String(row.id), customer_id: String(row.customer_id) };
  }
  return null;
}

export interface DeliveryView {
  id: string;
  customerId: string;
  channel: string;
  provider: string;
  purpose: string;
  marketing: boolean;
  status: DeliveryStatus;
  to: string;
  content: DeliveryContent;
  providerRef: string | null;
  messageId: string | null;
  errorCode: string | null;
  errorText: string | null;
  attempts: number;
  requestedBy: string | null;
  createdAt: string;
  sentAt: string | null;
  deliveredAt: string | null;
  failedAt: string | null;
}

export function deliveryView(r: Record<string, any>): DeliveryView {
  return {
    id: String(r.id),
    customerId: String(r.customer_id),
    channel: r.channel,
    provider: r.provider,
    purpose: r.purpose,
    marketing: Boolean(Number(r.marketing)),
    status: r.status,
    to: r.to_address,
    content: typeof r.content === 'string' ? JSON.parse(r.content) : r.content,
    providerRef: r.provider_ref ?? null,
    messageId: r.message_id ?? null,
    errorCode: r.error_code ?? null,
    errorText: r.error_text ?? null,
    attempts: Number(r.attempts),
    requestedBy: r.requested_by ?? null,
    createdAt: iso(r.created_at)!,
    sentAt: iso(r.sent_at),
    deliveredAt: iso(r.delivered_at),
    failedAt: iso(r.failed_at),
  };
}

export async function getDelivery(db: DataSource, id: string): Promise<DeliveryView | null> {
  if (!/^\d{1,20}$/.test(id)) return null;
  const [row] = await db.query(`SELECT * FROM delivery WHERE id = ?`, [id]);
  return row ? deliveryView(row) : null;
}

export async function listDeliveries(
  db: DataSource,
  q: { customerId?: string; status?: string; channel?: string; limit: number; cursor?: string },
): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.customerId) (where.push('customer_id = ?'), params.push(q.customerId));
  if (q.status) (where.push('status = ?'), params.push(q.status));
  if (q.channel) (where.push('channel = ?'), params.push(q.channel));
  const [after] = decodeCursor(q.cursor, 1) ?? [];
  if (after !== undefined) {
    if (!/^\d+$/.test(after)) throw new BadRequest('cursor', 'cursor is not one this API handed out');
    where.push('id < ?');
    params.push(after);
  }
  const rows = await db.query(`SELECT * FROM delivery ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`, [...params, q.limit + 1]);
  const page = rows.slice(0, q.limit);
  return { items: page.map(deliveryView), nextCursor: rows.length > q.limit ? encodeCursor([String(page[page.length - 1].id)]) : null };
}
