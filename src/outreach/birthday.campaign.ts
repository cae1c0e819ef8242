// Birthday candidates: customers whose birthday (month-day, as stored) is the swept store-local day.
// 29 February birthdays are greeted on 28 February in years without one (and on the 29th in leap
// years, once: the key is per year). Key: birthday:<customer>:<year>. Index: idx_customer_birthday_md.
import type { Candidate, CandidateSource } from './candidates';
import { isLeapYear } from '../platform/store-time';

/** The stored month-days ('MM-DD') greeted on `date`. */
export function birthdayMonthDays(date: string): string[] {
  const md = date.slice(5);
  return md === '02-28' && !isLeapYear(Number(date.slice(0, 4))) ? ['02-28', '02-29'] : [md];
}

export const birthdayCandidates: CandidateSource = async function* (db, w, batch) {
  const year = w.date.slice(0, 4);
  for (const md of birthdayMonthDays(w.date)) {
    let after = '0';
    for (;;) {
      const rows: { id: string; name: string | null; gender: number | null; last_product: string | null }[] = await db.query(
        `SELECT c.id, c.name, c.gender, r.last_product FROM customer c
           LEFT JOIN customer_rhythm r ON r.customer_id = c.id AND r.category = ''
          WHERE c.birthday_md = ? AND c.id > ? ORDER BY c.id LIMIT ?`,
        [md, after, batch],
      );
      if (!rows.length) break;
      yield rows.map((r): Candidate => ({ customerId: String(r.id), name: r.name, gender: r.gender, lastProduct: r.last_product, idempotencyKey: `birthday:${r.id}:${year}` }));
      if (rows.length < batch) break;
      after = String(rows[rows.length - 1].id);
    }
  }
};
