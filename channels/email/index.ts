// Builds the outbound email adapter: SMTP through nodemailer, or null when sending is off
// (SMTP_URL / EMAIL_FROM not set) — the send job then fails email deliveries as `channel_off`.
import type { ChannelAdapter, OutboundEmail } from '../channel';
import { SmtpEmailAdapter, type SmtpSettings } from './smtp.email';

export function createEmailAdapter(cfg: SmtpSettings): ChannelAdapter<OutboundEmail> | null {
  return cfg.sendEnabled ? new SmtpEmailAdapter(cfg) : null;
}
