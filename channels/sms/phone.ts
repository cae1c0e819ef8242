// Phone numbers as the SMS providers send them (13800138000, 8613800138000, +8613800138000,
// 0086…, 86 + nationcode split) → E.164, China by default. Channels do not import src/, so this
// mirrors src/identity.ts normalizePhone: both give the same answer for what providers send.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

const E164 = /^\+[1-9]\d{6,14}$/;

export function isE164(s: string): boolean {
  return E164.test(s);
}

/** E.164 or null when the value is not a possible phone number. */
export function toE164(raw: string | number | null | undefined, defaultCountry: CountryCode = 'CN'): string | null {
  if (raw === null || raw === undefined) return null;
  const cleaned = String(raw).replace(/[\s\-()（）.]/g, '').replace(/^00/, '+');
  if (!/^\+?\d{5,20}$/.test(cleaned)) return null;
  const tries = cleaned.startsWith('+') ? [cleaned] : [cleaned, `+${cleaned}`];
  for (const t of tries) {
    const parsed = parsePhoneNumberFromString(t, defaultCountry);
    if (parsed && parsed.isPossible() && (t.startsWith('+') ? parsed.isValid() : true)) return parsed.number;
  }
  return null;
}

/** Tencent splits the number: nationcode "86" + mobile "13800138000". */
export function joinNationCode(nationcode: string | number | null | undefined, mobile: string | number): string | null {
  const m = String(mobile).replace(/\s/g, '');
  if (m.startsWith('+')) return toE164(m);
  const cc = String(nationcode ?? '').replace(/^\+/, '').trim();
  return cc ? toE164(`+${cc}${m}`) : toE164(m);
}
