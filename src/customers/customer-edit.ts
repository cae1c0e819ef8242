// Editing a profile by hand (PATCH /api/customers/:id): name, birthday, phone, email, notes — each
// validated; a new phone or email becomes an identity of the customer (409 when it is another
// customer's); what changed, from what to what, and who changed it goes on the timeline.
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { parseBirthday } from './customers';
import { normalizeEmail, normalizePhone } from './identity';
import { DomainError, Invalid, NotFound } from '../platform/errors';
import { inTransaction } from '../platform/tx';
import { appendTimeline } from './timeline';

export interface CustomerEdit {
  actor: string;
  /** null clears */
  name?: string | null;
  birthday?: string | null;
  phone?: string;
  email?: string;
  notes?: string | null;
}

/** An identity the edit wants belongs to someone else: 409 `identity_taken`, "phone: already belongs to customer 12". */
export class IdentityTaken extends DomainError {
  constructor(
    override readonly field: 'phone' | 'email',
    readonly otherCustomerId: string,
  ) {
    super('conflict', 'identity_taken', `already belongs to customer ${otherCustomerId}`, field);
    this.name = 'IdentityTaken';
  }
}

const FIELDS = ['actor', 'name', 'birthday', 'phone', 'email', 'notes'];
export const MAX_NOTES = 10_000;

function str(body: Record<string, unknown>, key: string): string | null | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== 'string') throw new Invalid(key, 'must be a string or null');
  // eslint-disable-next-line no-control-regex
  if (key !== 'notes' && /[\u0000-\u001f\u007f]/.test(v)) throw new Invalid(key, 'must not contain control characters');
  return v.trim();
}

export function parseCustomerEdit(body: Record<string, unknown>): CustomerEdit {
  const unknown = Object.keys(body).find((k) => !FIELDS.includes(k));
  if (unknown) throw new Invalid(unknown, `is not a field that can be changed (${FIELDS.slice(1).join(', ')})`);
  const actor = str(body, 'actor');
  if (!actor) throw new Invalid('actor', 'is required: who is making the change');
  if (actor.length > 64) throw new Invalid('actor', 'must be at most 64 characters');
  const edit: CustomerEdit = { actor };

  const name = str(body, 'name');
  if (name !== undefined) {
    if (name !== null && name.length > 128) throw new Invalid('name', 'must be at most 128 characters');
    edit.name = name || null;
  }
  const birthday = str(body, 'birthday');
  if (birthday !== undefined) {
    if (birthday === null || birthday === '') edit.birthday = null;
    else {
      const b = parseBirthday(birthday);
      if (!b) throw new Invalid('birthday', 'must be a real date as YYYY-MM-DD, or --MM-DD when the year is unknown');
      edit.birthday = b;
    }
  }
  const phone = str(body, 'phone');
  if (phone !== undefined) {
    if (!phone) throw new Invalid('phone', 'cannot be cleared (it is an identity); give the new number');
    const p = normalizePhone(phone);
    if (!p) throw new Invalid('phone', 'is not a phone number');
    edit.phone = p;
  }
  const email = str(body, 'email');
  if (email !== undefined) {
    if (!email) throw new Invalid('email', 'cannot be cleared (it is an identity); give the new address');
    const e = normalizeEmail(email);
    if (!e) throw new Invalid('email', 'is not an email address');
    edit.email = e;
  }
  const notes = str(body, 'notes');
  if (notes !== undefined) {
    if (notes !== null && notes.length > MAX_NOTES) throw new Invalid('notes', `must be at most ${MAX_NOTES} characters`);
    edit.notes = notes || null;
  }
  if (Object.keys(edit).length === 1) throw new Invalid('body', `nothing to change: give one of ${FIELDS.slice(1).join(', ')}`);
  return edit;
}

export type EditOutcome = { status: 'not_found' } | { status: 'ok'; changed: string[] };

/** Applies the edit under a lock on the customer row; no timeline entry when nothing changed. */
export async function applyCustomerEdit(em: EntityManager, customerId: string, edit: CustomerEdit, now: Date): Promise<EditOutcome> {
  const [c] = await em.query(`SELECT id, name, birthday, phone, email, notes FROM customer WHERE id = ? FOR UPDATE`, [customerId]);
  if (!c) return { status: 'not_found' };
  const changes: Record<string, { from: string | null; to: string | null }> = {};
  for (const k of ['name', 'birthday', 'phone', 'email', 'notes'] as const) {
    const to = edit[k];
    if (to === undefined) continue;
    const from = (c[k] as string | null) ?? null;
    if (from !== to) changes[k] = { from, to };
  }
  for (const field of ['phone', 'email'] as const) {
    const value = edit[field];
    if (value === undefined) continue;
    const channel = field;
    const [owner] = await em.query(`SELECT customer_id FROM customer_identity WHERE channel = ? AND external_id = ? FOR UPDATE`, [channel, value]);
    if (owner && String(owner.customer_id) !== String(customerId)) throw new IdentityTaken(field, String(owner.customer_id));
    if (!owner) await em.query(`INSERT INTO customer_identity (customer_id, channel, external_id, created_at) VALUES (?, ?, ?, ?)`, [customerId, channel, value, now]);
  }
  const keys = Object.keys(changes);
  if (!keys.length) return { status: 'ok', changed: [] };
  await em.query(`UPDATE customer SET ${keys.map((k) => `${k} = ?`).join(', ')}, updated_at = ? WHERE id = ?`, [...keys.map((k) => changes[k].to), now, customerId]);
  const show = (v: string | null, k: string) => (v === null ? '—' : k === 'notes' ? `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"` : v);
  await appendTimeline(
    em,
    {
      customerId,
      channel: 'admin',
      direction: 'internal',
      kind: 'profile_updated',
      text: `${edit.actor} changed ${keys.map((k) => `${k}: ${show(changes[k].from, k)} → ${show(changes[k].to, k)}`).join('; ')}`.slice(0, 2000),
      occurredAt: now,
      staffUserId: edit.actor,
      providerId: `profile:${customerId}:${randomUUID()}`,
      data: { actor: edit.actor, changes },
    },
    now,
  );
  return { status: 'ok', changed: keys };
}

/** PATCH /api/customers/:id: the edit in one transaction; NotFound when there is no such customer, IdentityTaken (409) for another's phone or email. */
export async function editCustomer(db: DataSource, customerId: string, edit: CustomerEdit, now: Date): Promise<string[]> {
  const outcome = await inTransaction(db, (em) => applyCustomerEdit(em, customerId, edit, now));
  if (outcome.status === 'not_found') throw new NotFound(`no customer ${customerId}`);
  return outcome.changed;
}
