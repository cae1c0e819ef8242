// Builds the outbound email adapter (null when email sending is off).
// PLACEHOLDER: the email work adds smtp.email.ts (nodemailer) and returns it here.
import type { EmailConfig } from '../../config/email';
import type { ChannelAdapter, OutboundEmail } from '../channel';

export function createEmailAdapter(cfg: EmailConfig): ChannelAdapter<OutboundEmail> | null {
  void cfg;
  return null;
}
