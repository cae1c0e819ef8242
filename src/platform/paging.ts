// Opaque cursors and limits shared by every paged list.
import { Invalid } from './errors';

export function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, arity: number): string[] | null {
  if (!cursor) return null;
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && parts.length === arity && parts.every((p) => typeof p === 'string' || typeof p === 'number')) return parts.map(String);
  } catch {
    // fall through
  }
  throw new Invalid('cursor', 'cursor is not one this API handed out');
}

export function parseLimit(raw: string | undefined, def = 50, max = 200): number {
  if (raw === undefined || raw === '') return def;
  // digits only: '0x10', '1e1' and ' 5' are not quietly read as numbers
  const n = /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Invalid('limit', `limit must be a whole number from 1 to ${max}`);
  return n;
}

export const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);
