// Normalised identity values: phones in E.164 (China by default), emails lower-cased.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

export function normalizePhone(raw: string | null | undefined, defaultCountry: CountryCode = 'CN'): string | null {
  if (!raw) return null;
  const cleaned = raw.replace(/[\s\-()（）]/g, '');
  if (!/^\+?\d{5,20}$/.test(cleaned.replace(/^00/, '+'))) return null;
  const parsed = parsePhoneNumberFromString(cleaned.replace(/^00/, '+'), defaultCountry);
  if (!parsed || !parsed.isPossible()) return null;
  return parsed.number;
}

export function normalizeEmail(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const e = raw.trim().toLowerCase();
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e) ? e : null;
}
