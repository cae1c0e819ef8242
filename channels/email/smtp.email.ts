// Outbound email through nodemailer over SMTP_URL (Aliyun DirectMail, Tencent SES, a company relay…).
// Every message carries our Message-ID (stored on the delivery row, so replies thread back to it),
// In-Reply-To/References when it answers a customer, a text part beside any HTML, and — for
// marketing mail, which is what carries an unsubscribe URL — RFC 8058 one-click headers:
//   List-Unsubscribe: <https://…/unsubscribe/<token>>
//   List-Unsubscribe-Post: List-Unsubscribe=One-Click
// (RFC 8058 also wants DKIM covering both headers: that is the relay's job; see .env.example.)
// One SMTP connection per message: sends are spread over the send queue and rate-limited there.
import nodemailer from 'nodemailer';
import { ProviderError, type ChannelAdapter, type OutboundEmail, type SendResult } from '../channel';
import { htmlToText, normalizeMessageId, sanitizeEmailHtml } from './mime';

/** What the SMTP adapter reads of the email settings (config/email.ts's EmailConfig has them). */
export interface SmtpSettings {
  sendEnabled: boolean;
  smtpUrl: string | null;
  from: string | null;
}

const ADDRESS = /^[^\s@<>"(),;:]+@[^\s@<>"(),;:]+\.[^\s@<>"(),;:]+$/;

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
}

/** wang@example.org → w***@example.org, wherever an address appears. */
export function maskAddresses(text: string): string {
  return text.replace(/([^\s<>"'(),;:@]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g, (_m, local: string, domain: string) => `${local[0]}***@${domain}`);
}

/**
 * SMTP outcome → ProviderError. A 5xx reply is permanent (550 mailbox unavailable, 553 bad address,
 * 552 too big, 554 rejected), except 503 (bad sequence: a session problem, worth another try);
 * a 4xx reply (451 local error, 452 storage, 421 closing) and every connection, timeout, TLS or DNS
 * failure is transient. Authentication failures are ours to fix (a wrong SMTP password), so they
 * are retried with backoff rather than failing the message at once.
 */
export function classifySmtpError(err: unknown): ProviderError {
  const e = (err ?? {}) as SmtpFailure;
  const reply = e.response ? String(e.response).slice(0, 300) : null;
  // servers quote the address they refused ("550 5.1.1 <wang@example.org>… unknown"): the message
  // ends up in job logs, so addresses are masked as src/logger.ts does
  const message = maskAddresses(`${e.command ? `${e.command}: ` : ''}${reply ?? e.message ?? String(err)}`);
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH') return new ProviderError(`SMTP authentication failed: ${message}`, 'smtp_auth', false);
  if (typeof e.responseCode === 'number' && e.responseCode >= 400) {
    const permanent = e.responseCode >= 500 && e.responseCode !== 503;
    return new ProviderError(message, `smtp_${e.responseCode}`, permanent);
  }
  // refused before anything was sent: an address or a message no server will take
  if (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') return new ProviderError(message, `smtp_${e.code.toLowerCase()}`, true);
  return new ProviderError(message, e.code ? `smtp_${e.code.toLowerCase()}` : 'smtp_error', false);
}

export interface SmtpEmailOptions {
  /** default 10 s to connect, 10 s for the greeting, 60 s of socket silence */
  connectionTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
}

export class SmtpEmailAdapter implements ChannelAdapter<OutboundEmail> {
  readonly channel = 'email' as const;
  readonly provider = 'smtp';
  private readonly transport: ReturnType<typeof nodemailer.createTransport>;
  private readonly from: string;

  constructor(cfg: SmtpSettings, opts: SmtpEmailOptions = {}) {
    if (!cfg.sendEnabled || !cfg.smtpUrl || !cfg.from) throw new Error('SmtpEmailAdapter needs SMTP_URL and EMAIL_FROM');
    this.from = cfg.from;
    this.transport = nodemailer.createTransport({
      url: cfg.smtpUrl,
      connectionTimeout: opts.connectionTimeoutMs ?? 10_000,
      greetingTimeout: opts.greetingTimeoutMs ?? 10_000,
      socketTimeout: opts.socketTimeoutMs ?? 60_000,
      // no nodemailer logs: they would carry recipients and bodies
      logger: false,
      debug: false,
    });
  }

  async send(message: OutboundEmail): Promise<SendResult> {
    const messageId = normalizeMessageId(message.messageId);
    if (!messageId || !messageId.includes('@')) throw new ProviderError(`not a Message-ID: ${message.messageId}`, 'bad_message_id', true);
    if (!ADDRESS.test(message.to)) throw new ProviderError('the recipient is not an email address', 'bad_address', true);
    if (message.marketing && !message.unsubscribeUrl) {
      throw new ProviderError('marketing email needs a one-click unsubscribe link (set PUBLIC_BASE_URL and UNSUBSCRIBE_SECRET)', 'no_unsubscribe_link', true);
    }
    if (message.unsubscribeUrl !== undefined && !/^https:\/\/[^\s<>]+$/.test(message.unsubscribeUrl)) {
      throw new ProviderError('the unsubscribe URL must be https (RFC 8058)', 'bad_unsubscribe_url', true);
    }
    // a text part always goes beside the HTML (the HTML is our own template, sent as it is)
    const html = message.html?.trim() ? message.html : undefined;
    const text = message.text.trim() ? message.text : html ? htmlToText(sanitizeEmailHtml(html)) : '';
    if (!text.trim()) throw new ProviderError('the message has no text', 'empty_message', true);

    const references = (message.references ?? []).map(normalizeMessageId).filter((x): x is string => Boolean(x));
    const inReplyTo = normalizeMessageId(message.inReplyTo);
    if (inReplyTo && !references.includes(inReplyTo)) references.push(inReplyTo);

    try {
      const info = await this.transport.sendMail({
        from: this.from,
        to: message.to,
        subject: message.subject,
        text,
        ...(html ? { html } : {}),
        messageId,
        ...(inReplyTo ? { inReplyTo } : {}),
        ...(references.length ? { references } : {}),
        ...(message.unsubscribeUrl
          ? { list: { unsubscribe: message.unsubscribeUrl }, headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } }
          : {}),
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      // one recipient: a rejected one is a failed send, not a partial one
      if (info.rejected?.length) throw classifySmtpError({ code: 'EENVELOPE', message: 'the recipient was rejected', response: info.response });
      return { providerRef: info.messageId ? (normalizeMessageId(info.messageId) ?? messageId) : messageId, status: 'sent' };
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      throw classifySmtpError(err);
    }
  }

  close(): void {
    this.transport.close();
  }
}
