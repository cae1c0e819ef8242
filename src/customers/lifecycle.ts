// Lifecycle stage and RFM scores, in SQL over the customer table.
//
// Activity = an order or a message FROM the customer (customer.last_activity_at is generated from
// last_order_at, last_inbound_at and first_seen_at, so a customer who never bought nor wrote is
// "active" from the day we first saw them). At `now`, with thresholds in days:
//   churned  the customer deleted every staff member (churn_risk = 1, no active follow relation and at
//            least one relation the customer ended), or no activity for CHURNED_DAYS;
//   dormant  no activity for DORMANT_DAYS;
//   new      fewer than 2 orders and first seen within NEW_DAYS;
//   active   everyone else.
// dormant_since is the start of the current dormancy spell: last activity + DORMANT_DAYS, fixed when
// the spell begins (a late-arriving old order does not move it, so win-back's key
// `winback:<customer>:<dormant_since>` stays put) and null again once activity ends the spell; it
// stays set while a dormant customer goes on to churn (still the same spell).
//
// The stage is recomputed for one customer on every order and inbound message (refreshLifecycle) and
// for everyone whose stage time alone changes by the nightly job (runNightlyLifecycle), which only
// touches rows found through indexes: never a scan of every customer in Node.
import type { DataSource, EntityManager } from 'typeorm';

export interface LifecycleThresholds {
  newDays: number;
  dormantDays: number;
  churnedDays: number;
}

type Db = DataSource | EntityManager;

const DAY_MS = 86_400_000;

/** The customer walked away on WeCom: no active relation left, and they ended one themselves. */
const WALKED_AWAY = `(c.churn_risk = 1
  AND NOT EXISTS (SELECT 1 FROM customer_follow f WHERE f.customer_id = c.id AND f.status = 'active')
  AND EXISTS (SELECT 1 FROM customer_follow f WHERE f.customer_id = c.id AND f.ended_by = 'customer'))`;

interface Expr {
  sql: string;
  params: unknown[];
}

function cutoffs(now: Date, t: LifecycleThresholds) {
  return {
    churned: new Date(now.getTime() - t.churnedDays * DAY_MS),
    dormant: new Date(now.getTime() - t.dormantDays * DAY_MS),
    fresh: new Date(now.getTime() - t.newDays * DAY_MS),
  };
}

function stageExpr(now: Date, t: LifecycleThresholds): Expr {
  const c = cutoffs(now, t);
  return {
    sql: `(CASE
      WHEN ${WALKED_AWAY} THEN 'churned'
      WHEN c.last_activity_at < ? THEN 'churned'
      WHEN c.last_activity_at < ? THEN 'dormant'
      WHEN c.order_count < 2 AND c.first_seen_at >= ? THEN 'new'
      ELSE 'active' END)`,
    params: [c.churned, c.dormant, c.fresh],
  };
}

function dormantSinceExpr(now: Date, t: LifecycleThresholds): Expr {
  return {
    sql: `(CASE WHEN c.last_activity_at < ? THEN COALESCE(c.dormant_since, DATE_ADD(c.last_activity_at, INTERVAL ? DAY)) ELSE NULL END)`,
    params: [cutoffs(now, t).dormant, t.dormantDays],
  };
}

/**
 * Sets stage and dormant_since on the customers matching `where` whose values are out of date;
 * with `chunk`, in statements of at most that many rows (each its own implicit transaction), until
 * none is left. Returns the number of customers changed.
 */
async function apply(db: Db, where: Expr, now: Date, t: LifecycleThresholds, chunk?: number): Promise<number> {
  const stage = stageExpr(now, t);
  const since = dormantSinceExpr(now, t);
  // the row is out of date: so after the update it no longer matches, and a chunked loop ends
  const stale = `(c.lifecycle_stage <> ${stage.sql} OR NOT (c.dormant_since <=> ${since.sql}))`;
  const sql = `UPDATE customer c SET c.lifecycle_stage = ${stage.sql}, c.dormant_since = ${since.sql}
    WHERE ${where.sql} AND ${stale}${chunk ? ' LIMIT ?' : ''}`;
  const params = [...stage.params, ...since.params, ...where.params, ...stage.params, ...since.params, ...(chunk ? [chunk] : [])];
  let total = 0;
  for (;;) {
    const res = await db.query(sql, params);
    const n = Number(res?.affectedRows ?? 0);
    total += n;
    if (!chunk || n < chunk) return total;
  }
}

/** Sets the stage to churned when the customer has just deleted their last staff member (needs no thresholds). */
export async function churnIfWalkedAway(em: Db, customerId: string): Promise<void> {
  await em.query(`UPDATE customer c SET c.lifecycle_stage = 'churned' WHERE c.id = ? AND c.lifecycle_stage <> 'churned' AND ${WALKED_AWAY}`, [customerId]);
}

/** Recomputes stage and dormancy for these customers (after an order, a message, a profile change). */
export async function refreshLifecycle(em: Db, customerIds: string[], now: Date, t: LifecycleThresholds): Promise<void> {
  const ids = [...new Set(customerIds)];
  if (!ids.length) return;
  await apply(em, { sql: `c.id IN (${ids.map(() => '?').join(',')})`, params: ids }, now, t);
}

export interface NightlyResult {
  /** customers whose stage or dormancy spell changed */
  lifecycleChanged: number;
  /** customers with orders that were scored */
  rfmScored: number;
}

/**
 * Stage changes that time alone causes, then RFM. Each step selects only candidates through an index
 * (see the migration) and updates in chunks; safe to run twice or concurrently (the result is a
 * function of the data and `now`).
 */
export async function runNightlyLifecycle(db: DataSource, now: Date, t: LifecycleThresholds, chunk = 5000): Promise<NightlyResult> {
  const c = cutoffs(now, t);
  const steps: Expr[] = [
    // new/active customers whose last activity fell behind the dormancy (or churn) threshold
    { sql: `c.lifecycle_stage IN ('new', 'active') AND c.last_activity_at < ?`, params: [c.dormant] },
    // dormant customers whose last activity fell behind the churn threshold
    { sql: `c.lifecycle_stage = 'dormant' AND c.last_activity_at < ?`, params: [c.churned] },
    // new customers past NEW_DAYS
    { sql: `c.lifecycle_stage = 'new' AND c.first_seen_at < ?`, params: [c.fresh] },
    // dormant/churned customers with activity the event path did not apply (e.g. an import)
    { sql: `c.lifecycle_stage IN ('dormant', 'churned') AND c.last_activity_at >= ?`, params: [c.dormant] },
    // customers who removed a staff member (churn_risk is set on every removal; few rows)
    { sql: `c.churn_risk = 1 AND c.lifecycle_stage <> 'churned'`, params: [] },
    // churned by deletion, then added us again
    { sql: `c.churn_risk = 0 AND c.lifecycle_stage = 'churned' AND c.last_activity_at >= ?`, params: [c.churned] },
  ];
  let lifecycleChanged = 0;
  for (const step of steps) lifecycleChanged += await apply(db, step, now, t, chunk);
  const rfmScored = await recomputeRfm(db, chunk);
  return { lifecycleChanged, rfmScored };
}

/**
 * The quintile (1–5) NTILE(5) would give the row at 1-based position `pos` of `n` rows: the first
 * n mod 5 buckets hold one row more. Fed with RANK() (the position of the first of equal values),
 * equal values share the lowest quintile their group touches.
 */
const quintileOf = (pos: string) =>
  `(CASE WHEN ${pos} <= (n MOD 5) * (n DIV 5 + 1) THEN CEIL(${pos} / (n DIV 5 + 1))
     ELSE (n MOD 5) + CEIL((${pos} - (n MOD 5) * (n DIV 5 + 1)) / NULLIF(n DIV 5, 0)) END)`;

/**
 * RFM scores 1–5 by quintile over the customers with orders: recency by last order (most recent =
 * 5), frequency by order count, monetary by total spent. Customers with equal values share the lower
 * quintile of their group (NTILE alone would split a tie across two scores by id). One sort per
 * dimension (RANK), computed into a temporary table, then written in id-range chunks, only where a
 * score changed. (MIN(NTILE) OVER (PARTITION BY value) says the same but is quadratic per group on MariaDB.)
 */
export async function recomputeRfm(db: DataSource, chunk = 5000): Promise<number> {
  const runner = db.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`DROP TEMPORARY TABLE IF EXISTS tmp_rfm`);
    await runner.query(`CREATE TEMPORARY TABLE tmp_rfm (id bigint unsigned NOT NULL PRIMARY KEY, r tinyint NOT NULL, f tinyint NOT NULL, m tinyint NOT NULL) ENGINE=InnoDB`);
    await runner.query(`INSERT INTO tmp_rfm (id, r, f, m)
      SELECT id, ${quintileOf('rr')}, ${quintileOf('rf')}, ${quintileOf('rm')}
      FROM (
        SELECT id,
          RANK() OVER (ORDER BY last_order_at) AS rr,
          RANK() OVER (ORDER BY order_count) AS rf,
          RANK() OVER (ORDER BY total_spent) AS rm,
          COUNT(*) OVER () AS n
        FROM customer WHERE order_count > 0
      ) ranked`);
    const [{ n, maxId }] = await runner.query(`SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS maxId FROM tmp_rfm`);
    for (let from = 0n, max = BigInt(maxId); from <= max && max > 0n; from += BigInt(chunk)) {
      await runner.query(
        `UPDATE customer c JOIN tmp_rfm s ON s.id = c.id SET c.rfm_r = s.r, c.rfm_f = s.f, c.rfm_m = s.m
         WHERE s.id > ? AND s.id <= ? AND NOT (c.rfm_r <=> s.r AND c.rfm_f <=> s.f AND c.rfm_m <=> s.m)`,
        [String(from), String(from + BigInt(chunk))],
      );
    }
    // scores of customers who no longer have orders (idx_customer_rfm finds them)
    await runner.query(`UPDATE customer SET rfm_r = NULL, rfm_f = NULL, rfm_m = NULL WHERE rfm_r IS NOT NULL AND order_count = 0`);
    await runner.query(`DROP TEMPORARY TABLE IF EXISTS tmp_rfm`);
    return Number(n);
  } finally {
    await runner.release();
  }
}
