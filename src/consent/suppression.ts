// Addresses that must never be contacted although nobody on file holds them any more: when an
// erased customer had opted out, a one-way hash of each of their addresses on that channel stays
// here (sha256 of the normalised address — E.164 phone, lower-case email, WeCom external id), and
// the send policy refuses a delivery to an address whose hash is listed. The only module that
// writes `suppressed_address`.
import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { ConsentChannel } from '../../entities';
import { normalizeEmail, normalizePhone } from '../customers/identity';

/** The stored form of an address: sha256 (hex) of its normalised form; null when it does not read as one. */
export function addressHash(channel: string, address: string): string | null {
  const normal = channel === 'sms' ? normalizePhone(address) : channel === 'email' ? normalizeEmail(address) : address.trim() || null;
  return normal ? createHash('sha256').update(normal).digest('hex') : null;
}

export async function suppressAddresses(em: EntityManager, items: { channel: ConsentChannel; address: string }[], reason: string, now: Date): Promise<number> {
  const rows = items
    .map((i) => ({ channel: i.channel, hash: addressHash(i.channel, i.address) }))
    .filter((r): r is { channel: ConsentChannel; hash: string } => r.hash !== null);
  if (!rows.length) return 0;
  await em.query(
    `INSERT INTO suppressed_address (address_hash, channel, reason, created_at) VALUES ${rows.map(() => '(?, ?, ?, ?)').join(',')}
     ON DUPLICATE KEY UPDATE address_hash = address_hash`,
    rows.flatMap((r) => [r.hash, r.channel, reason, now]),
  );
  return rows.length;
}

/** True when the address (on this channel) is one an erased person said no on: one primary-key lookup. */
export async function isAddressSuppressed(db: DataSource | EntityManager, channel: string, address: string): Promise<boolean> {
  const hash = addressHash(channel, address);
  if (!hash) return false;
  const rows = await db.query(`SELECT 1 AS hit FROM suppressed_address WHERE address_hash = ?`, [hash]);
  return rows.length > 0;
}
