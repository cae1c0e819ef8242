// Quoted-reply stripping for inbound email: what the customer wrote this time, without the message
// they answered. Our own cuts first, for the layouts email-reply-parser misses (QQ Mail / Foxmail
// "原始邮件" blocks, Chinese Outlook 发件人/发送时间 headers, wrapped "On … wrote:" and "在 … 写道："
// lines, Outlook's underscore rule), then email-reply-parser for the rest (">" quotes, Gmail and
// Outlook in many languages, signatures), then trailing "Sent from my iPhone"-style lines.
import EmailReplyParser from 'email-reply-parser';

/** Text beyond this is not examined (and not kept: callers cap what they store well below it). */
const MAX_INPUT_CHARS = 200_000;
/**
 * email-reply-parser sees at most this much of what is above our cut. Some of its patterns
 * backtrack quadratically on long lines (`On\s.+\s.+\n?wrote` took 11.7 s on one 200,000-character
 * line of "On On On …"); 16,000 characters keep the worst case near 0.1 s, and the stripped text
 * callers keep is shorter than that anyway.
 */
export const PARSER_INPUT_CHARS = 16_000;
/** A quote header is one short line (two when the client wrapped it). */
const MAX_HEADER_LINE = 400;

const ORIGINAL_MESSAGE = /^\s*[-_=*]{2,}\s*(原始邮件|原始郵件|原邮件|Original Message|Original E-?mail|Mensaje original|Message d'origine|Ursprüngliche Nachricht)\s*[-_=*]{2,}\s*$/i;
const UNDERSCORE_RULE = /^\s*_{8,}\s*$/;
const HEADER_FROM = /^\s*[*>]*\s*(发件人|發件人|寄件者|寄件人|From)\s*[*]*\s*[:：]/i;
const HEADER_WHEN = /^\s*[*>]*\s*(发送时间|發送時間|寄件日期|发送日期|日期|时间|時間|Sent|Date)\s*[*]*\s*[:：]/i;
const HEADER_OTHER = /^\s*[*>]*\s*(收件人|收件者|抄送|副本|主题|主旨|To|Cc|Subject)\s*[*]*\s*[:：]/i;
const WROTE_EN = /^\s*On\b.{0,360}\bwrote\s*:\s*$/i;
const WROTE_ZH = /^.{0,360}(写道|寫道)\s*[:：]\s*$/;
// a Chinese attribution line names a date, a time or an address, so "他在信里写道：" is not one
const WROTE_ZH_EVIDENCE = /[\d０-９@]/;
const MOBILE_SIGNATURE = /^\s*(发自我的|來自我的|来自我的|從我的|从我的|Sent from my|Sent from Mail for|Get Outlook for)\s*.{0,40}$/i;
const SEPARATOR_LINE = /^\s*(-{2,}|_{2,}|={2,})\s*$/;

/** Line breaks to \n, non-breaking spaces (and the `&nbsp;` QQ Mail leaves in text parts) to spaces, zero-width marks out. */
export function normalizeReplyText(input: string): string {
  return input
    .replace(/\r\n?/g, '\n')
    .replace(/&nbsp;/gi, ' ')
    .replace(/\u00a0/g, ' ')
    .replace(/[\u200b\u200c\u200d\u2060\ufeff]/g, '');
}

function nextNonEmpty(lines: string[], from: number, count: number): string[] {
  const out: string[] = [];
  for (let i = from; i < lines.length && out.length < count; i++) if (lines[i].trim()) out.push(lines[i]);
  return out;
}

function isAttribution(line: string): boolean {
  if (line.length > MAX_HEADER_LINE) return false;
  if (WROTE_EN.test(line)) return true;
  return WROTE_ZH.test(line) && WROTE_ZH_EVIDENCE.test(line);
}

/** Index of the first line where a quoted message begins (lines.length when there is none). */
export function findQuoteStart(lines: string[]): number {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.length > MAX_HEADER_LINE * 2) continue;
    if (ORIGINAL_MESSAGE.test(line)) return i;
    if (UNDERSCORE_RULE.test(line) && nextNonEmpty(lines, i + 1, 1).some((l) => HEADER_FROM.test(l))) return i;
    if (HEADER_FROM.test(line)) {
      // a header block: From followed closely by Sent/Date (To/Cc/Subject may come between)
      const next = nextNonEmpty(lines, i + 1, 4);
      const when = next.findIndex((l) => HEADER_WHEN.test(l));
      if (when >= 0 && next.slice(0, when).every((l) => HEADER_OTHER.test(l))) return i;
    }
    if (isAttribution(line)) return i;
    // an attribution the sending client wrapped onto two lines
    if (i + 1 < lines.length && lines[i + 1].trim() && isAttribution(`${line.trimEnd()} ${lines[i + 1].trim()}`) && !/^\s*>/.test(line)) return i;
  }
  return lines.length;
}

function dropTrailing(lines: string[]): string[] {
  const out = [...lines];
  for (;;) {
    while (out.length && !out[out.length - 1].trim()) out.pop();
    const last = out[out.length - 1];
    if (last !== undefined && out.length > 1 && (MOBILE_SIGNATURE.test(last) || SEPARATOR_LINE.test(last))) {
      out.pop();
      continue;
    }
    return out;
  }
}

let parser: EmailReplyParser | null = null;

/**
 * The new text of a reply: quoted messages, attribution lines and mobile signatures removed.
 * Returns '' when nothing of the customer's own is left (the caller keeps the full text anyway).
 */
export function stripQuotedReply(input: string): string {
  const text = normalizeReplyText(input.length > MAX_INPUT_CHARS ? input.slice(0, MAX_INPUT_CHARS) : input);
  const lines = text.split('\n');
  const cut = lines.slice(0, findQuoteStart(lines)).join('\n');
  parser ??= new EmailReplyParser();
  const visible = parser.parseReply(cut.length > PARSER_INPUT_CHARS ? cut.slice(0, PARSER_INPUT_CHARS) : cut);
  return dropTrailing(visible.split('\n').map((l) => l.trimEnd())).join('\n').trim();
}
