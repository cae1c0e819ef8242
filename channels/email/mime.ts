// Raw RFC 822 mail → our InboundMessageItem (channel 'email'). Every inbound path ends here: the
// raw endpoint, SendGrid raw mode, Mailgun `body-mime`, and (headers only) Mailgun's parsed fields.
//
// Parser: mailparser's simpleParser. It is already a dependency, decodes RFC 2047 words and every
// charset Chinese mail uses (GBK/GB2312/GB18030/Big5 through iconv-lite), and hands back
// Message-ID / In-Reply-To / References ready for threading. Its known costs are handled here:
// attachments are buffered (we keep metadata only; the body is capped at 25 MB before we get it),
// HTML is not sanitised (we sanitise), cid: images are inlined as data: URIs unless told not to
// (keepCidLinks), and its HTML→text conversion costs ~250 ms per MB of HTML on the event loop
// (skipped: we make text from the already capped, sanitised HTML ourselves).
// What we store is bounded (inbound_event.payload is one JSON value in one MySQL packet, and the
// timeline's text column is TEXT): every cap below marks what it cut in `truncated`. Control
// characters are dropped (JSON would spend 6 bytes on each), so an item is at most ~3 bytes per
// character kept: ≈ 1.3 MB in the worst case, whatever the size of the mail.
// There are no bodies for attachments and no raw copy of the mail here: nowhere to keep them yet.
import { createHash } from 'node:crypto';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import sanitizeHtml from 'sanitize-html';
import type { InboundMessageItem } from '../channel';
import { normalizeReplyText, stripQuotedReply } from './quote-strip';

export const LIMITS = {
  /** the new text of the reply (lands in the timeline's TEXT column with the subject: ≤ 64 KB) */
  text: 10_000,
  fullText: 100_000,
  /** HTML handed to the sanitiser (sanitising costs ~250 ms per million characters) */
  htmlInput: 1_000_000,
  html: 300_000,
  subject: 998,
  name: 128,
  attachments: 100,
  filename: 255,
  references: 30,
  messageId: 998,
} as const;

/** An email item: the shared shape plus which fields were cut to fit. */
export interface InboundEmailItem extends InboundMessageItem {
  channel: 'email';
  truncated?: string[];
}

export interface AttachmentMeta {
  filename?: string;
  contentType: string;
  size: number;
  contentId?: string;
}

/** The mail cannot be read as a customer's message: answered 400 `bad_mime` (the sender should not retry it). */
export class MimeError extends Error {
  readonly kind = 'invalid';
  readonly code = 'bad_mime';

  constructor(message: string) {
    super(message);
    this.name = 'MimeError';
  }
}

export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** C0 controls but tab and line feed, DEL, C1 controls and lone surrogates: never content. */
export function dropControls(value: string): string {
  return value
    .replace(/\r\n?/g, '\n')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '');
}

/** Cuts to `max` UTF-16 units without splitting a surrogate pair. */
export function cap(value: string, max: number): { value: string; cut: boolean } {
  if (value.length <= max) return { value, cut: false };
  let end = max;
  const code = value.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return { value: value.slice(0, end), cut: true };
}

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    'p', 'br', 'div', 'span', 'b', 'strong', 'i', 'em', 'u', 's', 'strike', 'del', 'ins', 'sub', 'sup', 'small', 'big', 'font',
    'blockquote', 'pre', 'code', 'hr', 'ul', 'ol', 'li', 'dl', 'dt', 'dd',
    'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'a', 'table', 'caption', 'thead', 'tbody', 'tfoot', 'tr', 'td', 'th', 'center',
  ],
  // no style, class, id or event attributes; no images (remote ones are trackers, cid: ones we do not keep)
  allowedAttributes: { a: ['href', 'title', 'rel', 'target'], td: ['colspan', 'rowspan'], th: ['colspan', 'rowspan'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'title', 'head', 'template', 'xml'],
  transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow', target: '_blank' }) },
};

/** Conservative allow-list sanitising: formatting, lists, tables and http(s)/mailto links; nothing that runs or loads. */
export function sanitizeEmailHtml(html: string): string {
  return sanitizeHtml(html, SANITIZE);
}

const BLOCK_END = new Set(['p', 'div', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'li', 'tr', 'blockquote', 'pre', 'table', 'ul', 'ol', 'dl', 'dt', 'dd', 'hr', 'br', 'center', 'caption']);
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'", '#x27': "'" };

/** Plain text from sanitised HTML: block ends become line breaks, blockquoted lines get "> ". */
export function htmlToText(safeHtml: string): string {
  let out = '';
  let depth = 0;
  let atLineStart = true;
  const emit = (text: string) => {
    for (const ch of text) {
      if (atLineStart && depth > 0 && ch !== '\n') out += '> '.repeat(depth);
      out += ch;
      atLineStart = ch === '\n';
    }
  };
  const newline = () => {
    if (!atLineStart) emit('\n');
  };
  const tag = /<(\/?)([a-zA-Z0-9]+)[^>]*>/g;
  let last = 0;
  for (let m = tag.exec(safeHtml); m; m = tag.exec(safeHtml)) {
    const text = safeHtml.slice(last, m.index).replace(/\s+/g, ' ');
    if (text.trim() || (text && !atLineStart)) emit(atLineStart ? text.trimStart() : text);
    last = tag.lastIndex;
    const name = m[2].toLowerCase();
    if (name === 'br') {
      emit('\n');
      continue;
    }
    if (name === 'td' || name === 'th') {
      if (m[1] && !atLineStart) emit('\t');
      continue;
    }
    if (name === 'blockquote') {
      newline();
      depth = Math.max(0, depth + (m[1] ? -1 : 1));
      continue;
    }
    if (BLOCK_END.has(name) && m[1]) newline();
    else if (BLOCK_END.has(name) && (name === 'p' || name === 'div' || name === 'li' || name === 'hr')) newline();
  }
  emit(safeHtml.slice(last).replace(/\s+/g, ' '));
  return out
    .replace(/&(#x27|#39|[a-z]+);/gi, (all, e: string) => ENTITIES[e.toLowerCase()] ?? all)
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** `<id@host>` exactly once; null for an empty or absurd id. */
export function normalizeMessageId(id: string | undefined | null): string | null {
  if (!id) return null;
  const trimmed = id.trim().replace(/^<+/, '').replace(/>+$/, '').trim();
  if (!trimmed || trimmed.length > LIMITS.messageId || /[\s<>]/.test(trimmed)) return null;
  return `<${trimmed}>`;
}

function firstAddress(a: AddressObject | AddressObject[] | undefined): { address?: string; name?: string } | null {
  const list = Array.isArray(a) ? a : a ? [a] : [];
  for (const obj of list) {
    for (const v of obj.value) {
      if (v.address) return { address: v.address, name: v.name };
      for (const g of v.group ?? []) if (g.address) return { address: g.address, name: g.name };
    }
  }
  return null;
}

const EMAIL_ADDRESS = /^[^\s@<>]+@[^\s@<>]+$/;

function referencesOf(parsed: ParsedMail): string[] {
  const raw = parsed.references === undefined ? [] : Array.isArray(parsed.references) ? parsed.references : [parsed.references];
  // a single header can still hold several ids when mailparser did not split it
  const ids = raw.flatMap((r) => r.match(/<[^<>\s]+>/g) ?? [r]).map(normalizeMessageId).filter((x): x is string => Boolean(x));
  return ids.slice(-LIMITS.references);
}

/** What a provider already did for us, and what it tells us beside the parsed headers. */
export interface EmailBodies {
  provider: string;
  /** the whole text body (quotes included); null = derive from the HTML */
  fullText: string | null;
  /** the reply as the provider stripped it (Mailgun `stripped-text`); absent = strip it ourselves */
  strippedText?: string | null;
  html: string | null;
  attachments: AttachmentMeta[];
  /** de-dup key when the mail has no Message-ID */
  fallbackDedupKey: string;
}

/** Builds the item from parsed headers and the bodies (from the same parse, or from a provider's fields). */
export function buildEmailItem(parsed: ParsedMail, bodies: EmailBodies): InboundEmailItem {
  const truncated: string[] = [];
  const capField = (field: string, value: string, max: number) => {
    const c = cap(value, max);
    if (c.cut) truncated.push(field);
    return c.value;
  };

  const from = firstAddress(parsed.from);
  if (!from?.address || !EMAIL_ADDRESS.test(from.address)) throw new MimeError('the mail has no From address');
  const to = firstAddress(parsed.to);

  let html: string | undefined;
  if (bodies.html && bodies.html.trim()) {
    const input = capField('html', bodies.html, LIMITS.htmlInput);
    let safe = sanitizeEmailHtml(dropControls(input));
    if (safe.length > LIMITS.html) {
      if (!truncated.includes('html')) truncated.push('html');
      // cutting can split a tag: another pass drops the torn tag and closes the open ones
      // (which adds a little), so cut with room to spare
      for (let room = 1024; safe.length > LIMITS.html; room *= 4) safe = sanitizeEmailHtml(cap(safe, Math.max(0, LIMITS.html - room)).value);
    }
    html = safe;
  }

  const rawFull = bodies.fullText && bodies.fullText.trim() ? bodies.fullText : html ? htmlToText(html) : '';
  const fullText = capField('fullText', dropControls(normalizeReplyText(rawFull)).replace(/\s+$/, ''), LIMITS.fullText);
  const provided = bodies.strippedText ? dropControls(normalizeReplyText(bodies.strippedText)).trim() : '';
  const stripped = provided || stripQuotedReply(fullText);
  // nothing of their own above the quote (a forward, or a quote-only reply): show it all
  const text = capField('text', stripped || fullText.trim(), LIMITS.text);

  const messageId = normalizeMessageId(parsed.messageId);
  const inReplyTo = normalizeMessageId(parsed.inReplyTo?.match(/<[^<>\s]+>/)?.[0] ?? parsed.inReplyTo);
  const references = referencesOf(parsed);
  const date = parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date : null;

  const attachments = bodies.attachments.slice(0, LIMITS.attachments).map((a) => {
    const m: AttachmentMeta = { contentType: (a.contentType || 'application/octet-stream').slice(0, 255), size: a.size };
    if (a.filename) m.filename = capField('attachments', dropControls(a.filename), LIMITS.filename);
    if (a.contentId) m.contentId = a.contentId.slice(0, 255);
    return m;
  });
  if (bodies.attachments.length > LIMITS.attachments && !truncated.includes('attachments')) truncated.push('attachments');

  const item: InboundEmailItem = {
    type: 'message',
    channel: 'email',
    provider: bodies.provider,
    providerMessageId: messageId,
    // a Message-ID is unique across providers: the same mail posted by two of them is one event
    dedupKey: messageId && messageId.length <= 180 ? `email:${messageId}` : messageId ? `email:sha256:${sha256Hex(messageId)}` : bodies.fallbackDedupKey,
    from: { email: from.address.toLowerCase(), ...(dropControls(from.name ?? '').trim() ? { name: capField('from.name', dropControls(from.name!).trim(), LIMITS.name) } : {}) },
    text,
    fullText,
    attachments,
    sentAt: date ? date.toISOString() : null,
  };
  if (to?.address) item.to = { email: to.address.toLowerCase().slice(0, 254) };
  if (parsed.subject !== undefined) item.subject = capField('subject', dropControls(parsed.subject.replace(/[\r\n\t]+/g, ' ')), LIMITS.subject);
  if (html !== undefined) item.html = html;
  const thread: NonNullable<InboundMessageItem['thread']> = {};
  if (messageId) thread.messageId = messageId;
  if (inReplyTo) thread.inReplyTo = inReplyTo;
  if (references.length) thread.references = references;
  if (Object.keys(thread).length) item.thread = thread;
  if (truncated.length) item.truncated = [...new Set(truncated)];
  return item;
}

const PARSER_OPTIONS = { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true, keepCidLinks: true } as const;

async function parse(raw: Buffer | string): Promise<ParsedMail> {
  try {
    return await simpleParser(raw, PARSER_OPTIONS);
  } catch (err) {
    throw new MimeError(`the mail could not be parsed: ${(err as Error).message}`);
  }
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const gb18030 = new TextDecoder('gb18030', { fatal: true });

/** Bytes that are not UTF-8 but are GB18030 (a superset of GBK/GB2312), decoded; else null. */
function decodeLegacyChinese(bytes: Buffer): string | null {
  try {
    utf8Strict.decode(bytes);
    return null;
  } catch {
    try {
      return gb18030.decode(bytes);
    } catch {
      return null;
    }
  }
}

/** The raw bytes of one unfolded header's value (first occurrence) in the header block. */
function rawHeaderValue(head: Buffer, name: string): Buffer | null {
  const unfolded = head.toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(unfolded);
  return m ? Buffer.from(m[1].replace(/\r$/, ''), 'latin1') : null;
}

/**
 * Older Chinese mailers sometimes send GBK with no charset at all (8-bit header text, or a body with
 * no charset parameter); mailparser then reads it as UTF-8 and gives U+FFFD. Where that happened and
 * the bytes read cleanly as GB18030, read them so: the Subject, the From name, and the body of a
 * single-part 8-bit text message (a multipart one we leave as parsed).
 */
function repairUndeclaredGbk(raw: Buffer, parsed: ParsedMail): void {
  const needs = (v: string | undefined) => Boolean(v && v.includes('\ufffd'));
  const from0 = parsed.from?.value[0];
  if (!needs(parsed.subject) && !needs(from0?.name) && !needs(parsed.text)) return;
  let end = raw.indexOf('\r\n\r\n');
  let sep = 4;
  if (end < 0) (end = raw.indexOf('\n\n'), (sep = 2));
  const head = end < 0 ? raw : raw.subarray(0, end);
  if (needs(parsed.subject)) {
    const bytes = rawHeaderValue(head, 'Subject');
    const fixed = bytes && !bytes.includes('=?') ? decodeLegacyChinese(bytes) : null;
    if (fixed) parsed.subject = fixed.trim();
  }
  if (from0 && needs(from0.name)) {
    const bytes = rawHeaderValue(head, 'From');
    const fixed = bytes && !bytes.includes('=?') ? decodeLegacyChinese(bytes) : null;
    const name = fixed ? /^\s*"?([^"<]*?)"?\s*</.exec(fixed)?.[1] : undefined;
    if (name) from0.name = name;
  }
  if (needs(parsed.text) && end >= 0) {
    const type = rawHeaderValue(head, 'Content-Type')?.toString('latin1') ?? 'text/plain';
    const cte = rawHeaderValue(head, 'Content-Transfer-Encoding')?.toString('latin1').trim().toLowerCase() ?? '7bit';
    const declared = /charset\s*=/i.test(type) && !/charset\s*=\s*"?(us-ascii|utf-?8)"?/i.test(type);
    if (/^\s*text\/plain\b/i.test(type) && !declared && (cte === '8bit' || cte === '7bit' || cte === 'binary')) {
      const fixed = decodeLegacyChinese(raw.subarray(end + sep));
      if (fixed) parsed.text = fixed;
    }
  }
}

/** A whole RFC 822 message (any charset, any transfer encoding) → the item. */
export async function parseRawEmail(raw: Buffer, provider: string): Promise<InboundEmailItem> {
  if (!raw.length) throw new MimeError('the body is empty: expected an RFC 822 message');
  // an mbox envelope line ("From sender date", as a Postfix pipe may prepend) is not part of the message
  if (raw.subarray(0, 5).toString('latin1') === 'From ') {
    const eol = raw.indexOf(0x0a);
    raw = eol < 0 ? Buffer.alloc(0) : raw.subarray(eol + 1);
  }
  // the header block must come first: "Name: value" on the first line
  const firstLine = raw.subarray(0, Math.min(raw.length, 1000)).toString('latin1').split(/\r?\n/, 1)[0];
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*:/.test(firstLine)) throw new MimeError('the body does not start with a mail header (expected an RFC 822 message)');
  const parsed = await parse(raw);
  repairUndeclaredGbk(raw, parsed);
  return buildEmailItem(parsed, {
    provider,
    fullText: parsed.text ?? null,
    html: typeof parsed.html === 'string' ? parsed.html : null,
    attachments: parsed.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, size: a.size, contentId: a.contentId })),
    fallbackDedupKey: `email:sha256:${sha256Hex(raw)}`,
  });
}

/**
 * Parses a header block given as name/value pairs (Mailgun's `message-headers`), so RFC 2047
 * words, addresses, dates and ids are read exactly as in a whole message.
 */
export async function parseHeaderList(headers: [string, string][]): Promise<ParsedMail> {
  const lines = headers
    .filter(([name]) => /^[!-9;-~]{1,76}$/.test(name) && !/^content-/i.test(name))
    .map(([name, value]) => `${name}: ${String(value).replace(/[\r\n]+/g, ' ')}`);
  return parse(Buffer.from(`${lines.join('\r\n')}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`, 'utf8'));
}
