// What the three SMS providers share: payload errors, Beijing-time conversion, the checks every
// adapter runs before calling a provider (E.164 recipient, template and sign, opt-out wording on
// marketing), and turning network failures into transient ProviderErrors.
import { createHash } from 'node:crypto';
import { ProviderError, type OutboundSms } from '../channel';
import { isE164 } from './phone';

/**
 * A webhook body that is not what the provider documents: answered 400 `bad_payload`, nothing stored.
 * `kind` and `code` are what src/platform/errors.ts reads off a refusal (channels/ does not import src/).
 */
export class SmsPayloadError extends Error {
  readonly kind = 'invalid';
  readonly code = 'bad_payload';

  constructor(message: string) {
    super(message);
    this.name = 'SmsPayloadError';
  }
}

export const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * "2017-09-01 00:00:00" (Tencent/Aliyun, Beijing time, no zone) → "2017-09-01T00:00:00+08:00".
 * Returns null for anything that is not a real calendar time.
 */
export function beijingTimeToIso(s: unknown): string | null {
  if (typeof s !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, sec = '00'] = m.slice(1);
  const probe = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +sec));
  if (probe.getUTCFullYear() !== +y || probe.getUTCMonth() !== +mo - 1 || probe.getUTCDate() !== +d || probe.getUTCHours() !== +h || probe.getUTCMinutes() !== +mi || probe.getUTCSeconds() !== +sec) {
    return null;
  }
  return `${y}-${mo}-${d}T${h}:${mi}:${sec}+08:00`;
}

/** Unix seconds → the same instant written in Beijing time: 1700000000 → "2023-11-15T06:13:20+08:00". */
export function unixToBeijingIso(seconds: number): string {
  const t = new Date(seconds * 1000 + 8 * 3600_000);
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}T${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}+08:00`;
}

// Opt-out instructions as carriers and providers require them on marketing SMS:
// 拒收请回复R (current Tencent/Aliyun wording), 回T退订 / 退订回T / 回复TD退订 (older), Reply STOP (Twilio).
const REPLY_WITH_KEYWORD = /(回复|回覆|回|发送|发)\s*["'“”‘’「」『』]?\s*(R|TD|T|N|退订|拒收)(?![A-Za-z])/i;
const REFUSAL_WORD = /退订|拒收/;
const EN_REPLY_STOP = /\b(reply|text|txt|send|respond)\s+(with\s+)?["'“‘]?(STOP|UNSUBSCRIBE|STOPALL|OPTOUT|CANCEL|END|QUIT)\b/i;
const EN_STOP_TO = /\bSTOP\b["'”’]?\s+to\s+(opt[\s-]?out|unsubscribe|stop|end|cancel|quit)\b/i;

/** Does the text tell the reader how to refuse further messages? */
export function hasOptOutInstruction(text: string): boolean {
  const t = text.normalize('NFKC');
  return (REPLY_WITH_KEYWORD.test(t) && REFUSAL_WORD.test(t)) || EN_REPLY_STOP.test(t) || EN_STOP_TO.test(t);
}

/**
 * Refuses, before any provider call, what must never be sent: a marketing SMS without opt-out
 * wording, a recipient that is not E.164, a template message without template id or sign name.
 */
export function checkOutbound(m: OutboundSms, opts: { template: boolean; signName?: string | null }): { signName: string } {
  if (m.marketing && !hasOptOutInstruction(m.text ?? '')) {
    throw new ProviderError('a marketing SMS must tell the reader how to opt out (e.g. 拒收请回复R / 回T退订 / Reply STOP)', 'template_missing_opt_out', true);
  }
  if (!m.to || !isE164(m.to)) throw new ProviderError('the recipient is not an E.164 phone number', 'invalid_number', true);
  const signName = m.signName || opts.signName || '';
  if (opts.template) {
    if (!m.templateId) throw new ProviderError('an approved template id is required', 'missing_params', true);
    if (!signName) throw new ProviderError('an approved sign name (签名) is required', 'missing_params', true);
  } else if (!m.text) {
    throw new ProviderError('the message text is empty', 'missing_params', true);
  }
  return { signName };
}

/** A failure below HTTP (refused connection, reset, DNS, timeout): worth retrying. */
export function networkError(err: unknown, provider: string): ProviderError {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  const msg = `${e?.message ?? String(err)}${e?.cause?.message ? ` (${e.cause.message})` : ''}`;
  const timeout = e?.name === 'TimeoutError' || e?.name === 'AbortError' || /time[d ]?out/i.test(msg) || e?.code === 'ETIMEDOUT';
  return new ProviderError(`${provider}: ${msg}`, timeout ? 'timeout' : 'network_error', false);
}
