// The one small interface every outbound provider adapter implements, and the shapes inbound
// provider payloads are parsed into. Channels import no Koa, no entities, no database, and no
// config/ (config/ reads the provider registries in channels/, not the other way round).

export type SendChannel = 'sms' | 'email' | 'wecom';

export interface OutboundSms {
  kind: 'sms';
  /** E.164, e.g. +8613800138000 */
  to: string;
  /** provider-approved template id (Tencent TemplateId, Aliyun TemplateCode, Twilio: ours) */
  templateId: string;
  /** provider-approved sign name (签名) */
  signName: string;
  /** positional template parameters ({1},{2}… for Tencent; Aliyun maps them by name itself) */
  params: string[];
  /** the rendered text as the customer will read it (timeline, Twilio body) */
  text: string;
  marketing: boolean;
  /** our delivery id: echoed back by providers that support it (SessionContext, OutId) */
  reference: string;
}

export interface OutboundEmail {
  kind: 'email';
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** RFC 5322 Message-ID we chose (with angle brackets), recorded for threading */
  messageId: string;
  /** https URL for RFC 8058 one-click unsubscribe; absent for non-marketing mail */
  unsubscribeUrl?: string;
  /** marketing mail must carry unsubscribeUrl: the adapter refuses it otherwise */
  marketing?: boolean;
  inReplyTo?: string;
  references?: string[];
  reference: string;
}

/** A WeCom mass-message task (add_msg_template) for one customer, plus the card telling its sender why. */
export interface OutboundWeComMass {
  kind: 'wecom_mass';
  externalUserId: string;
  /** the staff member who owns the customer and confirms the task */
  sender: string;
  text: string;
  attachments?: Record<string, unknown>[];
  /** the app message (text card) to the sender; null = none */
  staffCard: { title: string; description: string; url: string } | null;
  reference: string;
}

/** externalcontact/send_welcome_msg with a WelcomeCode (valid 20 s, single use). */
export interface OutboundWeComWelcome {
  kind: 'wecom_welcome';
  welcomeCode: string;
  text: string;
  attachments?: Record<string, unknown>[];
  reference: string;
}

/** An app message (message/send text card) to staff members. */
export interface OutboundWeComApp {
  kind: 'wecom_app';
  toStaff: string[];
  title: string;
  description: string;
  url: string;
  reference: string;
}

export type OutboundWeCom = OutboundWeComMass | OutboundWeComWelcome | OutboundWeComApp;

export type OutboundMessage = OutboundSms | OutboundEmail | OutboundWeCom;

export interface SendResult {
  /** the provider's id for the message (Tencent SerialNo, Aliyun BizId, Twilio MessageSid, SMTP Message-ID) */
  providerRef: string | null;
  /** `sent` = handed over; `delivered` only when the provider confirms delivery synchronously */
  status: 'sent' | 'delivered';
  /** something that went wrong beside the message itself (e.g. the staff card of a WeCom task), kept on the row */
  note?: { code: string; text: string };
}

/**
 * A provider refused or failed a send. `permanent` errors (invalid number, opted out at the
 * carrier, template refused) are not retried; the others are (outage, rate limit, timeout).
 */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly permanent: boolean,
    /** how long to wait before trying again (a provider's rate-limit window); else the usual backoff */
    readonly retryAfterMs?: number,
    /** a permanent refusal that means "not sent, by the rules" rather than a failure (ends `suppressed`) */
    readonly suppress?: boolean,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

export interface ChannelAdapter<M extends OutboundMessage = OutboundMessage> {
  readonly channel: SendChannel;
  readonly provider: string;
  send(message: M): Promise<SendResult>;
}

/** What a webhook handler hands a provider parser: the request as received. */
export interface InboundRequest {
  /** the public URL the provider called (for signature schemes that sign the URL) */
  url: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

/** One header of an InboundRequest as a string ('' when absent). */
export function headerValue(req: Pick<InboundRequest, 'headers'>, name: string): string {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : (v ?? '');
}

/**
 * The kinds of refusal, spelled as src/platform/errors.ts spells them (channels/ does not import
 * src/); src/app.ts maps each to its HTTP status.
 */
export type RefusalKind = 'invalid' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'too_large' | 'unsupported' | 'unavailable';

/**
 * A webhook refused by its provider module (its protocol decides which kind, hence which status,
 * makes the sender retry or give up); the handler throws it as a domain error, src/app.ts answers
 * it as `{ error: { code, message } }`, and nothing is stored.
 */
export interface Refusal {
  kind: RefusalKind;
  code: string;
  message: string;
}

/** A customer's message (SMS reply or email) as every provider's payload is normalised. */
export interface InboundMessageItem {
  type: 'message';
  channel: SendChannel;
  provider: string;
  providerMessageId: string | null;
  /** unique across providers: `<provider>:<id or sha256 of the identifying fields>` */
  dedupKey: string;
  from: { phone?: string; email?: string; name?: string };
  to?: { phone?: string; email?: string; signName?: string; extendCode?: string };
  /** the new text of the message (quoted reply stripped for email) */
  text: string;
  /** the full body, quotes included (email) */
  fullText?: string;
  subject?: string;
  /** sanitised HTML (email) */
  html?: string;
  attachments?: { filename?: string; contentType: string; size: number; contentId?: string }[];
  thread?: { messageId?: string; inReplyTo?: string; references?: string[] };
  /** ISO-8601 with offset; provider strings in Beijing time are converted */
  sentAt: string | null;
}

/** A delivery report for a message we sent. */
export interface InboundStatusItem {
  type: 'status';
  channel: SendChannel;
  provider: string;
  providerRef: string;
  /** our delivery id when the provider echoes it back (SessionContext / OutId) */
  reference?: string;
  status: 'sent' | 'delivered' | 'failed';
  code: string | null;
  description: string | null;
  at: string | null;
  dedupKey: string;
}

export type InboundItem = InboundMessageItem | InboundStatusItem;
