// The consent ledger: every opt-out and opt-in per customer and channel, with its source, time and
// cause; the current state is the newest entry. Checked again at send time, so an opt-out stops
// even messages already queued.
// Consent is bound to the address as well as the profile: a word about `sms:+8613912345678` or
// `email:x@y` is kept in `address_consent` (keyed by the sha256 of the normalised address) and blocks
// every send to that address whichever customer holds it now or later; a channel opt-out on a
// customer also writes an opt-out for every address of that channel the customer holds (and the
// customer's own state covers any address they gain later). The send path checks both.
import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { ConsentAction, ConsentChannel } from '../../entities';
import { lockCustomer } from '../customers/customers';
import { normalizeEmail, normalizePhone } from '../customers/identity';
import { customerAddresses, customerExists } from '../customers/profiles';
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
  /**
   * The address the word was about (an SMS keyword: the number it came from). Given: that address
   * and the customer's channel move. Absent: the customer's channel moves, and so does every address
   * of that channel they hold (an opt-out: identities and the primary phone/email; an opt-in: only
   * the addresses that are theirs by identity).
   */
  address?: string | null;
}

/** The normalised form of an address for a consent channel (E.164 phone, lower-cased email); null if it is not one. */
export function consentAddress(channel: ConsentChannel, raw: string | null | undefined): string | null {
  if (channel === 'sms') return normalizePhone(raw);
  if (channel === 'email') return normalizeEmail(raw);
  return null;
}

/** The one-way hash an address's consent is keyed by: sha256 (hex) of the normalised address. */
export const addressHash = (normalised: string): string => createHash('sha256').update(normalised, 'utf8').digest('hex');

/** Appends to the ledger and moves the current state if this is the newest word; false for a repeat. */
export async function recordConsent(em: EntityManager, c: ConsentChange, now: Date): Promise<boolean> {
  const address = c.address ? consentAddress(c.channel, c.address) : null;
  const res = await em.query(
    `INSERT INTO consent_event (customer_id, channel, action, source, actor, evidence, inbound_event_id, dedup_key, occurred_at, created_at, address, address_hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id`,
    [
      c.customerId, c.channel, c.action, c.source, c.actor ?? null, c.evidence?.slice(0, 2000) ?? null, c.inboundEventId ?? null, c.dedupKey ?? null, c.occurredAt, now,
      address, address ? addressHash(address) : null,
    ],
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
  if (c.channel !== 'wecom') {
    const addresses = address ? [address] : await customerAddresses(em, c.customerId, c.channel, c.action === 'opt_out');
    for (const a of addresses) await setAddressConsent(em, c.channel, a, status, c.source, c.occurredAt, String(eventId));
  }
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

/** The current state of one address: the newest word wins (a late-arriving older word changes nothing). */
async function setAddressConsent(em: EntityManager, channel: ConsentChannel, address: string, status: 'opted_in' | 'opted_out', source: string, at: Date, eventId: string | null): Promise<void> {
  await em.query(
    `INSERT INTO address_consent (channel, address_hash, address, status, source, changed_at, last_event_id) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE
       status = IF(VALUES(changed_at) >= changed_at, VALUES(status), status),
       source = IF(VALUES(changed_at) >= changed_at, VALUES(source), source),
       last_event_id = IF(VALUES(changed_at) >= changed_at, VALUES(last_event_id), last_event_id),
       address = COALESCE(address, VALUES(address)),
       changed_at = GREATEST(changed_at, VALUES(changed_at))`,
    [channel, addressHash(address), address, status, source.slice(0, 24), at, eventId],
  );
}

export async function isOptedOut(db: DataSource | EntityManager, customerId: string, channel: ConsentChannel): Promise<boolean> {
  const [row] = await db.query(`SELECT status FROM customer_consent WHERE customer_id = ? AND channel = ?`, [customerId, channel]);
  return row?.status === 'opted_out';
}

/** The current word on one address (raw: normalised here), or null when nothing was ever said about it. */
export async function addressConsent(
  db: DataSource | EntityManager,
  channel: ConsentChannel,
  raw: string,
): Promise<{ status: 'opted_in' | 'opted_out'; source: string; changedAt: Date } | null> {
  const address = consentAddress(channel, raw);
  if (!address) return null;
  const [row] = await db.query(`SELECT status, source, changed_at FROM address_consent WHERE channel = ? AND address_hash = ?`, [channel, addressHash(address)]);
  return row ? { status: row.status, source: row.source, changedAt: new Date(row.changed_at) } : null;
}

/**
 * Two profiles become one (identity merge; the caller holds both customers' row locks, in its fixed
 * order). Merging never loosens consent: the merged customer's ledger moves to the survivor (history
 * kept), and per channel the most restrictive state wins — a channel the merged customer had opted
 * out of and the survivor had not gets a `merge` opt-out on the survivor (which also covers the
 * survivor's addresses). Address-bound words need nothing: they follow the address. Idempotent.
 */
export async function mergeConsents(em: EntityManager, survivorId: string, mergedId: string, now: Date): Promise<void> {
  if (survivorId === mergedId) return;
  const rows: { customer_id: string; channel: ConsentChannel; status: string; changed_at: Date; last_event_id: string }[] = await em.query(
    `SELECT customer_id, channel, status, changed_at, last_event_id FROM customer_consent WHERE customer_id IN (?, ?)`,
    [survivorId, mergedId],
  );
  await em.query(`UPDATE consent_event SET customer_id = ? WHERE customer_id = ?`, [survivorId, mergedId]);
  await em.query(`DELETE FROM customer_consent WHERE customer_id = ?`, [mergedId]);
  for (const m of rows.filter((r) => String(r.customer_id) === String(mergedId))) {
    const s = rows.find((r) => String(r.customer_id) === String(survivorId) && r.channel === m.channel);
    if (!s) {
      // the survivor never had a word on this channel: it takes the merged customer's as it stood
      await em.query(`INSERT INTO customer_consent (customer_id, channel, status, changed_at, last_event_id) VALUES (?, ?, ?, ?, ?)`, [
        survivorId, m.channel, m.status, m.changed_at, m.last_event_id,
      ]);
      if (m.status === 'opted_out' && m.channel !== 'wecom') {
        for (const a of await customerAddresses(em, survivorId, m.channel, true)) await setAddressConsent(em, m.channel, a, 'opted_out', 'merge', now, m.last_event_id);
      }
    } else if (m.status === 'opted_out' && s.status !== 'opted_out') {
      await recordConsent(
        em,
        {
          customerId: survivorId,
          channel: m.channel,
          action: 'opt_out',
          source: 'merge',
          evidence: `customer ${mergedId} merged into ${survivorId}: ${m.channel} opted out since ${new Date(m.changed_at).toISOString()}`,
          dedupKey: `merge:${mergedId}:${survivorId}:${m.channel}`,
          occurredAt: now,
        },
        now,
      );
    }
  }
}

export interface ConsentView {
  current: { channel: string; status: string; changedAt: string }[];
  /** the words bound to the customer's addresses (identities and primary phone/email) */
  addresses: { channel: string; address: string; status: string; source: string; changedAt: string }[];
  ledger: { id: string; channel: string; action: string; source: string; actor: string | null; evidence: string | null; occurredAt: string }[];
}

export async function listConsents(db: DataSource, customerId: string): Promise<ConsentView> {
  const [current, ledger, addresses] = await Promise.all([
    db.query(`SELECT channel, status, changed_at FROM customer_consent WHERE customer_id = ? ORDER BY channel`, [customerId]),
    db.query(`SELECT id, channel, action, source, actor, evidence, occurred_at FROM consent_event WHERE customer_id = ? ORDER BY occurred_at DESC, id DESC LIMIT 500`, [customerId]),
    addressWords(db, customerId),
  ]);
  return {
    current: current.map((r: Record<string, string>) => ({ channel: r.channel, status: r.status, changedAt: new Date(r.changed_at).toISOString() })),
    addresses,
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

/** The words bound to the addresses a customer holds (identities and the primary phone/email). */
async function addressWords(db: DataSource, customerId: string): Promise<ConsentView['addresses']> {
  const [phones, emails] = await Promise.all([customerAddresses(db, customerId, 'sms', true), customerAddresses(db, customerId, 'email', true)]);
  const held = [...phones.map((a) => ['sms', a] as const), ...emails.map((a) => ['email', a] as const)];
  const addresses: ConsentView['addresses'] = [];
  for (const [channel, address] of held) {
    const [row] = await db.query(`SELECT status, source, changed_at FROM address_consent WHERE channel = ? AND address_hash = ?`, [channel, addressHash(address)]);
    if (row) addresses.push({ channel, address, status: row.status, source: row.source, changedAt: new Date(row.changed_at).toISOString() });
  }
  return addresses;
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
  // the words bound to their addresses keep only the hash: the no stays, the address goes
  await em.query(
    `UPDATE address_consent ac JOIN consent_event ce ON ce.id = ac.last_event_id SET ac.address = NULL WHERE ce.customer_id = ?`,
    [customerId],
  );
  await em.query(
    `UPDATE address_consent ac JOIN (SELECT DISTINCT channel, address_hash FROM consent_event WHERE customer_id = ? AND address_hash IS NOT NULL) ce
        ON ce.channel = ac.channel AND ce.address_hash = ac.address_hash
        SET ac.address = NULL`,
    [customerId],
  );
  await em.query(`UPDATE consent_event SET evidence = NULL, address = NULL WHERE customer_id = ?`, [customerId]);
}

/** Every consent entry of a customer, oldest first (the PIPL export: the whole history). */
export async function consentHistory(db: DataSource, customerId: string): Promise<ConsentView> {
  const [current, ledger, addresses] = await Promise.all([
    db.query(`SELECT channel, status, changed_at FROM customer_consent WHERE customer_id = ? ORDER BY channel`, [customerId]),
    db.query(`SELECT id, channel, action, source, actor, evidence, occurred_at FROM consent_event WHERE customer_id = ? ORDER BY occurred_at, id`, [customerId]),
    addressWords(db, customerId),
  ]);
  return {
    addresses,
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
