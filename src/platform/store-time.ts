// Calendar arithmetic in a time zone (the store's STORE_TIMEZONE, or WeCom's China day), with nothing
// but Intl: the wall clock of an instant, and the instant a wall-clock time falls on. The one place
// for it: orders, campaigns, the sweep, the contact policy and the report all use these.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(tz, f);
  }
  return f;
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function wallClock(at: Date, tz: string): Wall {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour, minute: parts.minute, second: parts.second };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The store-local calendar day of `at`, as 'YYYY-MM-DD'. */
export function localDate(at: Date, tz: string): string {
  const w = wallClock(at, tz);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** How far `tz` is ahead of UTC at `at`, in ms. */
function offsetMs(at: Date, tz: string): number {
  const w = wallClock(at, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - (at.getTime() - at.getMilliseconds());
}

/**
 * The instant the store's wall clock shows `time` ('HH:mm', default midnight) on `date` ('YYYY-MM-DD').
 * A time skipped by a daylight-saving jump resolves to the instant just after the jump.
 */
export function zonedTime(date: string, tz: string, time = '00:00'): Date {
  const [y, m, d] = date.split('-').map(Number);
  const [hh, mm] = time.split(':').map(Number);
  return wallTime(tz, y, m, d, hh, mm);
}

/**
 * The instant the wall clock in `tz` reads y-m-d h:min:s.ms (overflow allowed: d + 1 is tomorrow).
 * A time skipped by a daylight-saving jump resolves to the instant just after the jump.
 */
export function wallTime(tz: string, y: number, m: number, d: number, h: number, min: number, s = 0, ms = 0): Date {
  const naive = Date.UTC(y, m - 1, d, h, min, s, ms);
  let guess = naive - offsetMs(new Date(naive), tz);
  const second = naive - offsetMs(new Date(guess), tz);
  if (second !== guess) guess = Math.max(guess, second);
  return new Date(guess);
}

/** The last day start computed per zone: the send path asks for it thousands of times a day. */
const dayStarts = new Map<string, { from: number; until: number; start: Date }>();

/** The instant the local day of `at` began in `tz`. */
export function startOfLocalDay(at: Date, tz: string): Date {
  const t = at.getTime();
  const hit = dayStarts.get(tz);
  if (hit && t >= hit.from && t < hit.until) return hit.start;
  const w = wallClock(at, tz);
  const start = wallTime(tz, w.year, w.month, w.day, 0, 0);
  // valid until the next local midnight (found the same way, so DST-length days are right)
  const next = wallClock(new Date(start.getTime() + 36 * 3600_000), tz);
  const until = wallTime(tz, next.year, next.month, next.day, 0, 0).getTime();
  dayStarts.set(tz, { from: start.getTime(), until, start });
  return start;
}

/** `date` plus `days` calendar days ('YYYY-MM-DD'). */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** True for a real calendar date written 'YYYY-MM-DD'. */
export function isCalendarDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const [y, m, d] = s.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d));
  return y >= 1970 && t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}
