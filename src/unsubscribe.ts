// Unsubscribe links. PLACEHOLDER: the email work implements signed, opaque tokens (customer + channel, no raw email).
import type { EmailConfig } from '../config/email';

/** The https URL for RFC 8058 one-click unsubscribe for this customer, or null when email links are not configured. */
export function unsubscribeUrl(cfg: EmailConfig, customerId: string): string | null {
  void cfg;
  void customerId;
  return null;
}
