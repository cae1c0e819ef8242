// The consent ledger: every opt-out and opt-in per customer and channel, with its source, time and
// cause; the current state is the newest entry. Checked again at send time, so an opt-out stops
// even messages already queued.
import type { DataSource, EntityManager } from 'typeorm';
import type { ConsentAction, ConsentChannel } from '../../entities';
import { lockCustomer } from '../customers/customers';
import { customerExists } from '../customers/profiles';
import { appendTimeline } from '../customers/timeline';
import { NotFound } from '../platform/errors';
import { inTransaction } from '../platform/tx';

export const CONSENT_CHANNELS: ConsentChannel[] = ['sms', 'email', 'wecom'];

export interface ConsentChange {
  customerId: string;
  channel: ConsentChannel;
  action: ConsentAction;
  /** sms_keyword, email_unsubscribe, manual, provider … */
  source: string;
  actor?: string | null;
  /** what caused it: the SMS text, the one-click header, a note */
  evidence?: string | null;
  inboundEventId?: string | null;
  /** the same cause seen again (a repeat delivery) adds nothing */
  dedupKey?: string | null;
  occurredAt: Date;
}

/** Appends to the ledger and moves the current state if this is the newest word; false for a repeat. */
export async function recordConsent(em: EntityManager, c: ConsentChange, now: Date): Promise<boolean> {
  const res = await em.query(
    `INSERT INTO consent_event (customer_id, channel, action, source, actor, evidence, inbound_event_id, dedup_key, occurred_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id`,
    [c.customerId, c.channel, c.action, c.source, c.actor ?? null, c.evidence?.slice(0, 2000) ?? null, c.inboundEventId ?? null, c.dedupKey ?? null, c.occurredAt, now],
  );
  const eventId = Number(res.insertId);
  if (!eventId || Number(res.affectedRows) !== 1) return false;
  const status = c.action === 'opt_out' ? 'opted_out' : 'opted_in';
  await em.query(
    `INSERT INTO customer_consent (customer_id, channel, status, changed_at, last_event_id) VALUES (?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE
       status = IF(VALUES(changed_at) >= changed_at, VALUES(status), status),
       last_event_id = IF(VALUES(changed_at) >= changed_at, VALUES(last_event_id), last_event_id),
       changed_at = GREATEST(changed_at, VALUES(changed_at))`,
    [c.customerId, c.channel, status, c.occurredAt, eventId],
  );
  await appendTimeline(
    em,
    {
      customerId: c.customerId,
      channel: c.channel,
      direction: 'internal',
      kind: c.action,
      text: `${c.action === 'opt_out' ? 'opted out of' : 'opted in to'} ${c.channel} (${c.source}${c.actor ? ` by ${c.actor}` : ''})`,
      occurredAt: c.occurredAt,
      staffUserId: null,
      providerId: `consent:${eventId}`,
      inboundEventId: c.inboundEventId ?? null,
      data: c.evidence ? { evidence: c.evidence.slice(0, 500) } : null,
    },
    now,
  );
  return true;
}

export async function isOptedOut(db: DataSource | EntityManager, customerId: string, channel: ConsentChannel): Promise<boolean> {
  const [row] = await db.query(`SELECT status FROM customer_consent WHERE customer_id = ? AND channel = ?`, [customerId, channel]);
  return row?.status === 'opted_out';
}

export interface ConsentView {
  current: { channel: string; status: string; changedAt: string }[];
  ledger: { id: string; channel: string; action: string; source: string; actor: string | null; evidence: string | null; occurredAt: string }[];
}

export async function listConsents(db: DataSource, customerId: string): Promise<ConsentView> {
  const [current, ledger] = await Promise.all([
    db.query(`SELECT channel, status, changed_at FROM customer_consent WHERE customer_id = ? ORDER BY channel`, [customerId]),
    db.query(`SELECT id, channel, action, source, actor, evidence, occurred_at FROM consent_event WHERE customer_id = ? ORDER BY occurred_at DESC, id DESC LIMIT 500`, [customerId]),
  ]);
  return {
    current: current.map((r: Record<string, string>) => ({ channel: r.channel, status: r.status, changedAt: new Date(r.changed_at).toISOString() })),
    ledger: ledger.map((r: Record<string, string | null>) => ({
      id: String(r.id),
      channel: r.channel!,
      action: r.action!,
      source: r.source!,
      actor: r.actor,
      evidence: r.evidence,
      occurredAt: new Date(r.occurred_at!).toISOString(),
    })),
  };
}

/** A customer's consents: the current state per channel and the ledger (NotFound when there is no such customer). */
export async function customerConsents(db: DataSource, customerId: string): Promise<ConsentView> {
  if (!(await customerExists(db, customerId))) throw new NotFound(`no customer ${customerId}`);
  return listConsents(db, customerId);
}

/** Staff set a consent by hand (PUT /api/customers/:id/consents/:channel): a `manual` ledger entry, then the consents as they now stand. */
export async function setConsentByHand(
  db: DataSource,
  c: { customerId: string; channel: ConsentChannel; status: 'opted_in' | 'opted_out'; actor: string; note: string | null },
  now: Date,
): Promise<ConsentView> {
  if (!(await customerExists(db, c.customerId))) throw new NotFound(`no customer ${c.customerId}`);
  await inTransaction(db, (em) =>
    recordConsent(
      em,
      { customerId: c.customerId, channel: c.channel, action: c.status === 'opted_out' ? 'opt_out' : 'opt_in', source: 'manual', actor: c.actor, evidence: c.note, occurredAt: now },
      now,
    ),
  );
  return listConsents(db, c.customerId);
}

/**
 * The one-click email unsubscribe (RFC 8058): an email opt-out in the ledger, under the customer's
 * row lock so two clicks at once agree on what is current. False when nothing was recorded: the
 * customer is already opted out, or was erased since the link was made.
 */
export async function recordEmailUnsubscribe(db: DataSource, customerId: string, evidence: string, now: Date): Promise<boolean> {
  return inTransaction(db, async (em) => {
    // a customer since erased: nothing of theirs is left to mail
    if (!(await lockCustomer(em, customerId))) return false;
    const [current] = await em.query(`SELECT status, last_event_id FROM customer_consent WHERE customer_id = ? AND channel = 'email'`, [customerId]);
    if (current?.status === 'opted_out') return false;
    return recordConsent(
      em,
      {
        customerId,
        channel: 'email',
        action: 'opt_out',
        source: 'email_unsubscribe',
        actor: null,
        evidence,
        // one entry per state it ends: repeats while opted out add nothing, and after an
        // opt-in the same link can opt out again
        dedupKey: `email_unsubscribe:${customerId}:after:${current?.last_event_id ?? 0}`,
        occurredAt: now,
      },
      now,
    );
  });
}

/** The channels the customer is opted out of now. */
export async function optedOutChannels(db: DataSource | EntityManager, customerId: string): Promise<ConsentChannel[]> {
  const rows: { channel: ConsentChannel }[] = await db.query(`SELECT channel FROM customer_consent WHERE customer_id = ? AND status = 'opted_out'`, [customerId]);
  return rows.map((r) => r.channel);
}

/**
 * PIPL erasure: the ledger keeps what was decided and when (the consent state must survive), but
 * not the evidence (the SMS text, the note) that could say who it was.
 */
export async function eraseConsentEvidence(em: EntityManager, customerId: string): Promise<void> {
  await em.query(`UPDATE consent_event SET evidence = NULL WHERE customer_id = ?`, [customerId]);
}

/** Every consent entry of a customer, oldest first (the PIPL export: the whole history). */
export async function consentHistory(db: DataSource, customerId: string): Promise<ConsentView> {
  const [current, ledger] = await Promise.all([
    db.query(`SELECT channel, status, changed_at FROM customer_consent WHERE customer_id = ? ORDER BY channel`, [customerId]),
    db.query(`SELECT id, channel, action, source, actor, evidence, occurred_at FROM consent_event WHERE customer_id = ? ORDER BY occurred_at, id`, [customerId]),
  ]);
  return {
    current: current.map((r: Record<string, string>) => ({ channel: r.channel, status: r.status, changedAt: new Date(r.changed_at).toISOString() })),
    ledger: ledger.map((r: Record<string, string | null>) => ({
      id: String(r.id),
      channel: r.channel!,
      action: r.action!,
      source: r.source!,
      actor: r.actor,
      evidence: r.evidence,
      occurredAt: new Date(r.occurred_at!).toISOString(),
    })),
  };
}
