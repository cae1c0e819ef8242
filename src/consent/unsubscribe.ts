// Unsubscribe links (RFC 8058 one-click). The one-click POST carries no cookie or login, so the
// URL itself says who is unsubscribing: an opaque token = base64url(version ‖ customer id as
// 8 bytes ‖ first 16 bytes of HMAC-SHA256(UNSUBSCRIBE_SECRET, "touchpoint/unsubscribe/v1/email/" + id)).
// No email address or name is in it; without the secret nobody can make one for another customer.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { EmailConfig } from '../../config/email';

const VERSION = 1;
const MAC_BYTES = 16;
const TOKEN_BYTES = 1 + 8 + MAC_BYTES;
const MAX_ID = 2n ** 64n - 1n;

function mac(secret: string, customerId: string): Buffer {
  return createHmac('sha256', secret).update(`touchpoint/unsubscribe/v${VERSION}/email/${customerId}`).digest().subarray(0, MAC_BYTES);
}

/** The opaque token for this customer, or null when links are off or the id is not a customer id. */
export function unsubscribeToken(cfg: EmailConfig, customerId: string): string | null {
  if (!cfg.unsubscribeEnabled || !cfg.unsubscribeSecret) return null;
  if (!/^\d{1,20}$/.test(customerId)) return null;
  const id = BigInt(customerId);
  if (id > MAX_ID) return null;
  const buf = Buffer.alloc(TOKEN_BYTES);
  buf.writeUInt8(VERSION, 0);
  buf.writeBigUInt64BE(id, 1);
  mac(cfg.unsubscribeSecret, id.toString()).copy(buf, 9);
  return buf.toString('base64url');
}

/** The https URL for RFC 8058 one-click unsubscribe for this customer, or null when email links are not configured. */
export function unsubscribeUrl(cfg: EmailConfig, customerId: string): string | null {
  const token = unsubscribeToken(cfg, customerId);
  return token && cfg.publicBaseUrl ? `${cfg.publicBaseUrl}/unsubscribe/${token}` : null;
}

/** The customer a token was made for, or null for anything we did not sign (checked in constant time). */
export function verifyUnsubscribeToken(cfg: EmailConfig, token: string): { customerId: string } | null {
  if (!cfg.unsubscribeEnabled || !cfg.unsubscribeSecret) return null;
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{34}$/.test(token)) return null;
  const buf = Buffer.from(token, 'base64url');
  // base64url is not canonical in its last character: insist on the one spelling we hand out
  if (buf.length !== TOKEN_BYTES || buf.toString('base64url') !== token || buf.readUInt8(0) !== VERSION) return null;
  const customerId = buf.readBigUInt64BE(1).toString();
  if (customerId === '0') return null;
  const expected = mac(cfg.unsubscribeSecret, customerId);
  return timingSafeEqual(expected, buf.subarray(9)) ? { customerId } : null;
}
