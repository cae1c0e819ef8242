// Win-back candidates: customers in a dormancy spell (src/lifecycle.ts: dormant_since = last activity
// + DORMANT_DAYS, fixed for the spell, null once they order or write again) whose last order or
// message is at least the campaign's dormantDays old (a dormantDays below DORMANT_DAYS acts as
// DORMANT_DAYS: only a spell the lifecycle has opened is won back). Key:
// winback:<customer>:<dormant_since ISO>, so one message per spell. Index: idx_customer_dormant_since,
// a window of CATCH_UP_DAYS of spell starts.
import { DEFAULT_DORMANT_DAYS } from './campaigns';
import { CATCH_UP_DAYS, DAY_MS, type Candidate, type CandidateSource } from './candidates';

export const winbackCandidates: CandidateSource = async function* (db, w, batch) {
  const dormantDays = w.params.dormantDays ?? DEFAULT_DORMANT_DAYS;
  const silentSince = new Date(w.asOf.getTime() - dormantDays * DAY_MS);
  // dormant_since - DORMANT_DAYS is the last activity when the spell began, and activity only moves
  // later: so no spell that started after this bound can be silent since `silentSince`
  const upper = new Date(Math.min(w.asOf.getTime(), silentSince.getTime() + w.lifecycleDormantDays * DAY_MS));
  const lower = new Date(upper.getTime() - CATCH_UP_DAYS * DAY_MS);
  let afterAt = lower;
  let afterId = '0';
  let first = true;
  for (;;) {
    const rows: { id: string; name: string | null; gender: number | null; dormant_since: Date; last_product: string | null }[] = await db.query(
      `SELECT c.id, c.name, c.gender, c.dormant_since, r.last_product FROM customer c
         LEFT JOIN customer_rhythm r ON r.customer_id = c.id AND r.category = ''
        WHERE c.dormant_since ${first ? '>' : '>='} ? AND c.dormant_since <= ? AND (c.dormant_since > ? OR c.id > ?)
          AND c.last_activity_at <= ?
        ORDER BY c.dormant_since, c.id LIMIT ?`,
      [afterAt, upper, afterAt, afterId, silentSince, batch],
    );
    if (!rows.length) break;
    yield rows.map(
      (r): Candidate => ({
        customerId: String(r.id),
        name: r.name,
        gender: r.gender,
        lastProduct: r.last_product,
        idempotencyKey: `winback:${r.id}:${new Date(r.dormant_since).toISOString()}`,
      }),
    );
    if (rows.length < batch) break;
    const last = rows[rows.length - 1];
    afterAt = new Date(last.dormant_since);
    afterId = String(last.id);
    first = false;
  }
};
