// Structured logs (pino). Personal data is masked; secrets and decrypted payloads never reach info level.
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'touchpoint' },
    redact: {
      paths: ['*.secret', '*.token', '*.password', '*.authorization', 'req.headers.authorization', '*.access_token', '*.corpsecret'],
      censor: '[redacted]',
    },
  });
}

/** +8613812345678 → +86138****5678 */
export function maskPhone(phone: string | null | undefined): string {
  if (!phone) return '';
  if (phone.length <= 7) return '****';
  return `${phone.slice(0, phone.length - 8)}****${phone.slice(-4)}`;
}

/** alice@example.com → a***@example.com */
export function maskEmail(email: string | null | undefined): string {
  if (!email) return '';
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***${email.slice(at)}`;
}
