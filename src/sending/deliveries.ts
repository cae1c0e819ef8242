// Delivery rows: one per outbound message, unique by idempotency key, moving
// queued → sent → delivered | failed | suppressed. The send applies the contact policy
// (src/contact-policy.ts: consent, quiet hours, caps, WeCom's limits) at send time, under the customer's row lock.
// This is the only module that writes the `delivery` table: the queues, the inbox sweep, the WeCom task
// poll and the campaigns call the functions here.
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { InboundStatusItem, OutboundMessage, SendChannel } from '../../channels/channel';
import { ProviderError } from '../../channels/channel';
import type { DeliveryStatus } from '../../entities';
import type { Domain } from '../platform/domain';
import { checkPolicy, POLICY_EXEMPT_PURPOSES, WECOM_MASS, WECOM_WELCOME } from './contact-policy';
import { touchCustomer } from '../customers/customers';
import { Invalid } from '../platform/errors';
import { decodeCursor, encodeCursor, iso } from '../platform/paging';
import { appendTimeline } from '../customers/timeline';
import { inTransaction } from '../platform/tx';

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
  /** WeCom task: why we are writing, for the staff member's card ("今天是王哥的生日 · 已为他准备 20 元券") */
  staffNote?: string;
  /** WeCom welcome: the add event's WelcomeCode */
  welcomeCode?: string;
  /** WeCom app message to staff: the card (the text above is what the timeline shows) */
  card?: { title: string; description: string; url?: string };
  /** WeCom attachments (image/link/miniprogram…), as the API takes them */
  attachments?: Record<string, unknown>[];
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
  /** WeCom: the staff member who sends it (routeDelivery's staffUserId) or, for app messages, who gets it */
  staffUserId?: string | null;
  /** not before this instant (e.g. the campaign's send time) */
  notBefore?: Date | null;
  /** false for a message to staff about the customer (not to them): no line on the customer's timeline */
  onTimeline?: boolean;
}

/** Creates the row (and its timeline line) unless the idempotency key exists; returns its id either way. */
export async function createDelivery(em: EntityManager, d: NewDelivery, now: Date): Promise<{ id: string; created: boolean }> {
  const messageId = d.channel === 'email' ? `<${randomUUID()}@${d.messageIdDomain ?? 'touchpoint.invalid'}>` : null;
  const res = await em.query(
    `INSERT INTO delivery (customer_id, channel, provider, purpose, marketing, idempotency_key, status, to_address, content, message_id, requested_by, staff_user_id, not_before, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id`,
    [
      d.customerId, d.channel, d.provider, d.purpose, d.marketing, d.idempotencyKey, d.toAddress, JSON.stringify(d.content), messageId,
      d.requestedBy ?? null, d.staffUserId ?? null, d.notBefore ?? null, now, now,
    ],
  );
  if (Number(res.insertId) > 0) {
    const id = String(res.insertId);
    if (d.onTimeline === false) return { id, created: true };
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
  // a locking read: the row may have been committed by another transaction after this one's snapshot
  // was taken (REPEATABLE READ), which a plain SELECT would not see; the upsert above already holds its lock
  const [row] = await em.query(`SELECT id FROM delivery WHERE idempotency_key = ? FOR UPDATE`, [d.idempotencyKey]);
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
  staff_user_id?: string | null;
  not_before?: Date | string | null;
  counted_at?: Date | string | null;
}

function content(row: DeliveryRow): DeliveryContent {
  return typeof row.content === 'string' ? JSON.parse(row.content) : row.content;
}

/** What the WeCom staff card needs beside the row (see wecomCardContext). */
export interface WeComCardContext {
  /** how the sender knows the customer: their remark, else the customer's name */
  customerName: string | null;
  /** link on the card; `{customerId}` is replaced */
  url: string;
  /** the store-local date for the card's first line */
  localDate: string;
}

export function toOutbound(row: DeliveryRow, wecom?: WeComCardContext): OutboundMessage {
  const c = content(row);
  if (row.channel === 'wecom') return toWeComOutbound(row, c, wecom);
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

const PURPOSE_NOTE: Record<string, (name: string) => string> = {
  birthday: (n) => `今天是${n}的生日`,
  reorder: (n) => `${n}常买的商品该补货了`,
  winback: (n) => `${n}有一阵子没来了`,
  welcome: (n) => `${n}刚加了你`,
};

function toWeComOutbound(row: DeliveryRow, c: DeliveryContent, ctx?: WeComCardContext): OutboundMessage {
  const reference = String(row.id);
  if (row.provider === WECOM_WELCOME) return { kind: 'wecom_welcome', welcomeCode: c.welcomeCode ?? '', text: c.text, attachments: c.attachments, reference };
  const url = (ctx?.url ?? 'https://work.weixin.qq.com/').replace('{customerId}', String(row.customer_id));
  if (row.provider === WECOM_MASS) {
    const name = ctx?.customerName || '客户';
    const why = c.staffNote || (PURPOSE_NOTE[row.purpose] ?? ((n: string) => `给${n}的「${row.purpose}」消息`))(name);
    return {
      kind: 'wecom_mass',
      externalUserId: row.to_address,
      sender: row.staff_user_id ?? '',
      text: c.text,
      attachments: c.attachments,
      staffCard: {
        title: `客户群发待你确认：${name}`.slice(0, 128),
        description: cardDescription([ctx?.localDate ?? '', why, `请在企业微信「客户联系 → 群发助手」确认发送给${name}`]),
        url,
      },
      reference,
    };
  }
  // an app message to staff (alerts): to_address holds the member's userid
  return {
    kind: 'wecom_app',
    toStaff: [row.to_address],
    title: (c.card?.title ?? c.subject ?? c.text.split('\n')[0]).slice(0, 128),
    description: c.card?.description ?? cardDescription(c.text.split('\n')),
    url: c.card?.url ?? url,
    reference,
  };
}

/** A text card's description: gray first line, then normal lines, HTML-escaped, within WeCom's 512 bytes. */
export function cardDescription(lines: string[]): string {
  const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  let out = '';
  lines.filter((l) => l !== '').forEach((line, i) => {
    const div = `<div class="${i === 0 ? 'gray' : 'normal'}">${esc(line)}</div>`;
    if (Buffer.byteLength(out + div) <= 512) out += div;
  });
  return out;
}

export type SendOutcome = 'sent' | 'delivered' | 'suppressed' | 'failed' | 'skipped' | 'waiting';

/** What one send attempt came to; `waitUntil` when the policy made it wait (quiet hours). */
export interface SendReport {
  outcome: SendOutcome;
  waitUntil?: Date;
}

/**
 * Sends one queued delivery: the contact policy (checked now, under the customer's row lock) →
 * adapter → row updated. A transient provider error leaves it queued and throws, so the job retries
 * with backoff; a permanent one (or the last attempt: `final`, no Bull retry left) marks it failed.
 * A send due in quiet hours answers `waiting` with the instant to try again.
 */
export async function deliver(deps: Domain, deliveryId: string, final: boolean): Promise<SendReport> {
  const timeZone = deps.timeZone;
  // the policy and the pass it records happen under the customer's row lock: a second send for the
  // same customer waits here and then counts this one
  const verdict = await inTransaction(deps.db, async (em) => {
    // consent twice over: the customer's word on the channel, and the word bound to the address
    // itself (one primary-key lookup by the hash of the normalised address)
    const [row]: (DeliveryRow & { locked: string; consent_status: string | null; address_consent_status: string | null })[] = await em.query(
      `SELECT d.*, c.id AS locked, cc.status AS consent_status, ac.status AS address_consent_status
         FROM delivery d JOIN customer c ON c.id = d.customer_id
         LEFT JOIN customer_consent cc ON cc.customer_id = d.customer_id AND cc.channel = d.channel
         LEFT JOIN address_consent ac ON ac.channel = d.channel AND ac.address_hash = SHA2(LOWER(TRIM(d.to_address)), 256)
        WHERE d.id = ? FOR UPDATE`,
      [deliveryId],
    );
    if (!row || row.status !== 'queued') return { row: null } as const;
    const now = deps.now();
    const decision = await checkPolicy(em, row, now, { timeZone });
    if ('skip' in decision) {
      await finish(em, now, row.id, 'suppressed', { code: decision.skip, text: SKIP_TEXT[decision.skip] ?? decision.skip });
      return { row, outcome: 'suppressed' as const };
    }
    if ('wait' in decision) {
      await em.query(`UPDATE delivery SET not_before = ?, updated_at = ? WHERE id = ?`, [decision.wait, now, row.id]);
      return { row, outcome: 'waiting' as const, waitUntil: decision.wait };
    }
    const counted = !POLICY_EXEMPT_PURPOSES.has(row.purpose);
    await em.query(`UPDATE delivery SET attempts = attempts + 1, counted_at = IF(?, ?, counted_at), updated_at = ? WHERE id = ?`, [counted, now, now, row.id]);
    return { row, outcome: 'send' as const };
  });
  if (!verdict.row) return { outcome: 'skipped' };
  if (verdict.outcome !== 'send') return { outcome: verdict.outcome, waitUntil: 'waitUntil' in verdict ? verdict.waitUntil : undefined };
  const row = verdict.row;

  const adapter = deps.adapters[row.channel];
  if (!adapter) {
    await finish(deps.db, deps.now(), row.id, 'failed', { code: 'channel_off', text: `${row.channel} sending is not configured` });
    return { outcome: 'failed' };
  }
  let wecomCtx: WeComCardContext | undefined;
  if (row.channel === 'wecom' && row.provider === WECOM_MASS) {
    const prepared = await prepareWeComMass(deps, row, timeZone);
    if ('skip' in prepared) {
      await finish(deps.db, deps.now(), row.id, 'suppressed', prepared.skip);
      return { outcome: 'suppressed' };
    }
    wecomCtx = prepared;
  }
  try {
    const result = await adapter.send(toOutbound(row, wecomCtx));
    const now = deps.now();
    await deps.db.query(
      `UPDATE delivery SET status = IF(status = 'queued', ?, status), provider_ref = COALESCE(?, provider_ref), sent_at = ?,
         delivered_at = IF(? = 'delivered', ?, delivered_at), error_code = ?, error_text = ?, updated_at = ? WHERE id = ?`,
      [result.status, result.providerRef, now, result.status, now, result.note?.code ?? null, result.note?.text ?? null, now, row.id],
    );
    return { outcome: result.status };
  } catch (err) {
    const pe = err instanceof ProviderError ? err : new ProviderError((err as Error).message ?? String(err), 'error', false);
    if (pe.permanent || final) {
      const status = pe.permanent && pe.suppress ? 'suppressed' : 'failed';
      await finish(deps.db, deps.now(), row.id, status, { code: pe.code, text: pe.message });
      return { outcome: status };
    }
    await deps.db.query(`UPDATE delivery SET error_code = ?, error_text = ?, updated_at = ? WHERE id = ?`, [pe.code.slice(0, 64), pe.message.slice(0, 2000), deps.now(), row.id]);
    throw pe;
  }
}

const SKIP_TEXT: Record<string, string> = {
  opted_out: 'the customer opted out of this channel',
  address_opted_out: 'this address opted out (whichever customer holds it)',
  in_conversation: 'the customer messaged us recently: a person is talking to them',
  cap_per_day: 'the customer already got the most automated messages allowed today',
  cap_per_30_days: 'the customer already got the most automated messages allowed in 30 days',
  wecom_mass_daily: 'WeCom allows one mass message per customer a day',
  kf_window_closed: 'WeChat customer service replies only within 48 h of the customer’s last message',
  kf_reply_limit: 'WeChat customer service allows 5 replies after the customer’s last message',
};

/**
 * A WeCom task goes out through a staff member the customer still has: the row's sender while that
 * relation is active, else the owner of the newest active follow; none left → suppressed.
 */
async function prepareWeComMass(deps: Domain, row: DeliveryRow, timeZone: string): Promise<WeComCardContext | { skip: { code: string; text: string } }> {
  const follows: { staff_user_id: string; remark: string | null; name: string | null }[] = await deps.db.query(
    `SELECT f.staff_user_id, f.remark, c.name FROM customer c JOIN customer_follow f ON f.customer_id = c.id AND f.status = 'active'
      WHERE c.id = ? ORDER BY (f.staff_user_id = ?) DESC, COALESCE(f.added_at, f.updated_at) DESC, f.id DESC LIMIT 1`,
    [row.customer_id, row.staff_user_id ?? ''],
  );
  const f = follows[0];
  if (!f) return { skip: { code: 'no_wecom_relation', text: 'the customer has no active WeCom contact among our staff any more' } };
  if (f.staff_user_id !== row.staff_user_id) {
    await deps.db.query(`UPDATE delivery SET staff_user_id = ? WHERE id = ?`, [f.staff_user_id, row.id]);
    row.staff_user_id = f.staff_user_id;
  }
  const at = deps.now();
  return {
    customerName: f.remark || f.name,
    url: deps.sending.wecomCardUrl,
    localDate: new Intl.DateTimeFormat('zh-CN', { timeZone, month: 'long', day: 'numeric', weekday: 'short' }).format(at),
  };
}

async function finish(db: DataSource | EntityManager, now: Date, id: string, status: 'failed' | 'suppressed', error: { code: string; text: string }): Promise<void> {
  await db.query(
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
    if (!/^\d+$/.test(after)) throw new Invalid('cursor', 'cursor is not one this API handed out');
    where.push('id < ?');
    params.push(after);
  }
  const rows = await db.query(`SELECT * FROM delivery ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`, [...params, q.limit + 1]);
  const page = rows.slice(0, q.limit);
  return { items: page.map(deliveryView), nextCursor: rows.length > q.limit ? encodeCursor([String(page[page.length - 1].id)]) : null };
}

// ───────────────────────────── for the queues and the other rooms ─────────────────────────────

/**
 * PIPL erasure of a customer's deliveries: the rows stay for the shop's reports (channel, purpose,
 * status, times), without their address, content, error text or Message-ID (a reply to an old mail
 * must not find the anonymous customer); one still queued becomes `suppressed` (`erased`) and never
 * goes out. Returns the queued ones, whose jobs the caller removes after the commit.
 */
export async function eraseDeliveries(em: EntityManager, customerId: string, now: Date): Promise<{ id: string; channel: SendChannel }[]> {
  const queued: { id: string; channel: SendChannel }[] = await em.query(
    `SELECT id, channel FROM delivery WHERE customer_id = ? AND status = 'queued' FOR UPDATE`,
    [customerId],
  );
  // MariaDB applies SET left to right: the error columns read the status before it changes
  await em.query(
    `UPDATE delivery SET error_code = IF(status = 'queued', 'erased', error_code), error_text = NULL,
       status = IF(status = 'queued', 'suppressed', status), to_address = '', content = JSON_OBJECT(), message_id = NULL, updated_at = ?
     WHERE customer_id = ?`,
    [now, customerId],
  );
  return queued.map((r) => ({ id: String(r.id), channel: r.channel }));
}

/** Every delivery of a customer, oldest first (the PIPL export). */
export async function deliveriesOf(db: DataSource, customerId: string): Promise<DeliveryView[]> {
  const rows = await db.query(`SELECT * FROM delivery WHERE customer_id = ? ORDER BY id`, [customerId]);
  return rows.map(deliveryView);
}

/** What the send queue needs to hand a delivery over: its channel, provider and not-before time (null: no such row). */
export async function deliveryQueueInfo(db: DataSource, id: string): Promise<{ channel: SendChannel; provider: string; notBefore: Date | null } | null> {
  const [row]: { channel: SendChannel; provider: string; not_before: Date | null }[] = await db.query(`SELECT channel, provider, not_before FROM delivery WHERE id = ?`, [id]);
  return row ? { channel: row.channel, provider: row.provider, notBefore: row.not_before } : null;
}

/**
 * Deliveries still `queued`, untouched since `olderThan`, whose not_before has passed by `now` (a
 * lost send job: Redis flushed, or a crash between commit and enqueue), oldest first.
 */
export async function staleQueuedDeliveries(db: DataSource, olderThan: Date, now: Date, limit: number): Promise<string[]> {
  const rows: { id: string }[] = await db.query(
    `SELECT id FROM delivery WHERE status = 'queued' AND updated_at < ? AND (not_before IS NULL OR not_before <= ?) ORDER BY id LIMIT ?`,
    [olderThan, now, limit],
  );
  return rows.map((r) => String(r.id));
}

/** The delivery made under this idempotency key, if any. */
export async function findDeliveryIdByKey(db: DataSource | EntityManager, idempotencyKey: string): Promise<string | null> {
  const [row] = await db.query(`SELECT id FROM delivery WHERE idempotency_key = ?`, [idempotencyKey]);
  return row ? String(row.id) : null;
}

/** The deliveries made under these idempotency keys: key → delivery id (a key with none is absent). */
export async function deliveryIdsByKeys(db: DataSource | EntityManager, idempotencyKeys: string[]): Promise<Map<string, string>> {
  if (!idempotencyKeys.length) return new Map();
  const rows: { id: string; idempotency_key: string }[] = await db.query(
    `SELECT id, idempotency_key FROM delivery WHERE idempotency_key IN (${idempotencyKeys.map(() => '?').join(',')})`,
    idempotencyKeys,
  );
  return new Map(rows.map((r) => [r.idempotency_key, String(r.id)]));
}

// ───────────────────────────── WeCom mass-message tasks ─────────────────────────────

/** A WeCom task delivery still `sent` (src/sending/wecom-task-results.ts asks WeCom about it). */
export interface SentMassTask {
  id: string;
  provider_ref: string;
  staff_user_id: string;
  to_address: string;
}

/** Ends the WeCom tasks sent before `sentBefore` that nobody confirmed: failed `not_confirmed`; how many. */
export async function expireUnconfirmedMassTasks(db: DataSource, now: Date, sentBefore: Date, text: string): Promise<number> {
  const res = await db.query(
    `UPDATE delivery SET status = 'failed', failed_at = ?, error_code = 'not_confirmed', error_text = ?, updated_at = ?
      WHERE status = 'sent' AND channel = 'wecom' AND provider = ? AND sent_at < ?`,
    [now, text, now, WECOM_MASS, sentBefore],
  );
  return Number(res.affectedRows ?? 0);
}

/** WeCom tasks still `sent` with their task id and sender, oldest first. */
export async function sentMassTasks(db: DataSource, limit: number): Promise<SentMassTask[]> {
  return db.query(
    `SELECT id, provider_ref, staff_user_id, to_address FROM delivery
      WHERE status = 'sent' AND channel = 'wecom' AND provider = ? AND provider_ref IS NOT NULL AND staff_user_id IS NOT NULL
      ORDER BY id LIMIT ?`,
    [WECOM_MASS, limit],
  );
}

/** What WeCom said of one customer of a task: delivered at `at`, or failed with a reason. Only a `sent` row moves. */
export async function recordMassTaskResult(
  db: DataSource,
  id: string,
  result: { status: 'delivered'; at: Date } | { status: 'failed'; code: string; text: string },
  now: Date,
): Promise<void> {
  if (result.status === 'delivered') {
    await db.query(`UPDATE delivery SET status = 'delivered', delivered_at = ?, error_code = NULL, error_text = NULL, updated_at = ? WHERE id = ? AND status = 'sent'`, [
      result.at,
      now,
      id,
    ]);
  } else {
    await db.query(`UPDATE delivery SET status = 'failed', failed_at = ?, error_code = ?, error_text = ?, updated_at = ? WHERE id = ? AND status = 'sent'`, [
      now,
      result.code,
      result.text,
      now,
      id,
    ]);
  }
}
