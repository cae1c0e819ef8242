// Reorder candidates: the customer's expected next order (customer_rhythm, category '' = any product:
// last order + median gap) passed by graceDays, with no order since (the rhythm row is still the one
// of their latest order). Key: reorder:<customer>:<last order id>, so each order earns one nudge.
// Index: idx_customer_rhythm_expected (category, expected_next_at), a window of CATCH_UP_DAYS.
import { DEFAULT_GRACE_DAYS } from './campaigns';
import { CATCH_UP_DAYS, DAY_MS, type Candidate, type CandidateSource } from './candidates';

export const reorderCandidates: CandidateSource = async function* (db, w, batch) {
  const grace = w.params.graceDays ?? DEFAULT_GRACE_DAYS;
  const upper = new Date(w.asOf.getTime() - grace * DAY_MS);
  const lower = new Date(upper.getTime() - CATCH_UP_DAYS * DAY_MS);
  let afterAt = lower;
  let afterId = '0';
  let first = true;
  for (;;) {
    const rows: { customer_id: string; expected_next_at: Date; last_order_id: string; last_product: string | null; name: string | null; gender: number | null }[] = await db.query(
      `SELECT r.customer_id, r.expected_next_at, r.last_order_id, r.last_product, c.name, c.gender
         FROM customer_rhythm r JOIN customer c ON c.id = r.customer_id
        WHERE r.category = '' AND r.expected_next_at ${first ? '>' : '>='} ? AND r.expected_next_at <= ?
          AND (r.expected_next_at > ? OR r.customer_id > ?)
          AND (c.last_order_at IS NULL OR c.last_order_at <= r.last_order_at)
        ORDER BY r.expected_next_at, r.customer_id LIMIT ?`,
      [afterAt, upper, afterAt, afterId, batch],
    );
    if (!rows.length) break;
    yield rows.map(
      (r): Candidate => ({ customerId: String(r.customer_id), name: r.name, gender: r.gender, lastProduct: r.last_product, idempotencyKey: `reorder:${r.customer_id}:${r.last_order_id}` }),
    );
    if (rows.length < batch) break;
    const last = rows[rows.length - 1];
    afterAt = new Date(last.expected_next_at);
    afterId = String(last.customer_id);
    first = false;
  }
};
