// SMS opt-out / opt-in keywords. The whole message decides, never a word inside it: "退订" opts
// out, "我不想退订" does not. Width-folded (ＴＤ = TD), case-insensitive, and spaces, punctuation,
// symbols and invisible characters around the word are ignored (「退订。」, "stop!", " R ").
// Sources: Tencent/Aliyun marketing templates (拒收请回复R; older 回T/TD/N退订) and Twilio's
// default opt-out and opt-in keywords (docs: advanced-opt-out).

export type SmsKeyword = 'opt_out' | 'opt_in';

const OPT_OUT = new Set(['R', 'TD', 'T', 'N', '退订', '拒收', 'STOP', 'UNSUBSCRIBE', 'END', 'QUIT', 'STOPALL', 'CANCEL', 'OPTOUT', 'REVOKE']);
const OPT_IN = new Set(['START', 'YES', 'UNSTOP']);

/** Whitespace, punctuation, symbols (incl. most emoji), control and format characters (zero-width space, BOM). */
const EDGE_CHAR = /^[\p{Z}\p{P}\p{S}\p{Cc}\p{Cf}\s]$/u;

/** The message reduced to what decides: NFKC width folding, edges trimmed, upper case. */
export function normalizeKeyword(text: string): string {
  const chars = Array.from(text.normalize('NFKC'));
  let start = 0;
  let end = chars.length;
  while (start < end && EDGE_CHAR.test(chars[start])) start++;
  while (end > start && EDGE_CHAR.test(chars[end - 1])) end--;
  return chars.slice(start, end).join('').toUpperCase();
}

export function classifySmsKeyword(text: string | null | undefined): SmsKeyword | null {
  if (typeof text !== 'string' || text.length > 2000) return null;
  const word = normalizeKeyword(text);
  if (OPT_OUT.has(word)) return 'opt_out';
  if (OPT_IN.has(word)) return 'opt_in';
  return null;
}
