// Nightly lifecycle + RFM benchmark: seeds N customers (default 1,000,000) with first-seen, last
// order, order counts, spending and last inbound message — generated inside MariaDB/MySQL by
// INSERT … SELECT over a digits cross join, nothing row by row — then times runNightlyLifecycle:
// the first night after the migration (every customer still 'new': nearly all rows change), the
// next night (only customers crossing a threshold), and RFM alone. Also times a CSV order import.
//
//   npx tsx bench/lifecycle.bench.ts        knobs: BENCH_CUSTOMERS, BENCH_IMPORT_ORDERS (20000)
// Database touchpoint_bench_lifecycle (dropped and recreated each run).
import { Readable } from 'node:stream';
import os from 'node:os';
import mysql from 'mysql2/promise';
import pino from 'pino';
import { loadEmailConfig } from '../config/email';
import { createDataSource, ensureDatabase, migrate } from '../src/platform/db';
import type { Domain } from '../src/platform/domain';
import { runNightlyLifecycle, recomputeRfm } from '../src/customers/lifecycle';
import { importOrders } from '../src/orders/order-import';

const ROOT_URL = 'mysql://root@127.0.0.1:3306';
const DB = 'touchpoint_bench_lifecycle';
const N = Number(process.env.BENCH_CUSTOMERS ?? 1_000_000);
const IMPORT_ORDERS = Number(process.env.BENCH_IMPORT_ORDERS ?? 20_000);
const DAY = 86_400_000;
const NOW = new Date('2026-06-15T19:00:00Z'); // 03:00 in Shanghai
const T = { newDays: 30, dormantDays: 90, churnedDays: 365 };

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const cpu = os.loadavg()[0];
  const r = await fn();
  console.log(`${label.padEnd(44)} ${secs(Date.now() - started).padStart(9)}   rss ${mb(process.memoryUsage().rss)}   load ${cpu.toFixed(2)}   ${JSON.stringify(r) ?? ''}`);
  return r;
}

async function main() {
  const root = await mysql.createConnection(ROOT_URL);
  await root.query(`DROP DATABASE IF EXISTS ${DB}`);
  await root.end();
  const url = `${ROOT_URL}/${DB}`;
  await ensureDatabase(url);
  const db = createDataSource(url, 4);
  await db.initialize();
  await migrate(db);
  console.log(`${N} customers, now ${NOW.toISOString()}, ${os.cpus().length} CPUs`);

  await timed('seed customers (INSERT … SELECT)', async () => {
    await db.query(`CREATE TABLE bench_digit (d tinyint PRIMARY KEY)`);
    await db.query(`INSERT INTO bench_digit VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)`);
    const step = 100_000;
    for (let from = 0; from < N; from += step) {
      const n = Math.min(step, N - from);
      // n = from + 0 … n-1: five digits → 100k per statement
      await db.query(
        `INSERT INTO customer (first_seen_at, last_order_at, order_count, total_spent, last_inbound_at, churn_risk, created_at, updated_at)
         SELECT
           DATE_SUB(?, INTERVAL (k * 7 % 1500) DAY),
           IF(k % 10 < 3, NULL, DATE_SUB(?, INTERVAL (k * 7919 % 700) DAY) + INTERVAL (k % 86400) SECOND),
           IF(k % 10 < 3, 0, 1 + k * 31 % 20),
           IF(k % 10 < 3, 0, (1 + k * 31 % 20) * (20 + k * 13 % 300)),
           IF(k % 10 < 7, NULL, DATE_SUB(?, INTERVAL (k * 104729 % 400) DAY)),
           0, ?, ?
         FROM (SELECT ? + a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS k
               FROM bench_digit a, bench_digit b, bench_digit c, bench_digit e, bench_digit f) nums
         WHERE k < ?`,
        [NOW, NOW, NOW, NOW, NOW, from, from + n],
      );
    }
    // keep last orders after first seen, as real data would
    await db.query(`UPDATE customer SET first_seen_at = LEAST(first_seen_at, last_order_at) WHERE last_order_at IS NOT NULL AND last_order_at < first_seen_at`);
    await db.query(`ANALYZE TABLE customer`);
    const [row] = await db.query(`SELECT COUNT(*) AS n FROM customer`);
    return { customers: Number(row.n) };
  });

  await timed('night 1 (all still new: classify everyone)', () => runNightlyLifecycle(db, NOW, T));
  await timed('night 1 again (nothing to change)', () => runNightlyLifecycle(db, NOW, T));
  await timed('night 2 (next day: threshold crossers only)', () => runNightlyLifecycle(db, new Date(NOW.getTime() + DAY), T));
  await timed('RFM alone (scores unchanged)', () => recomputeRfm(db));
  const stages = await db.query(`SELECT lifecycle_stage AS stage, COUNT(*) AS n FROM customer GROUP BY lifecycle_stage ORDER BY stage`);
  console.log('stages', Object.fromEntries(stages.map((s: { stage: string; n: string }) => [s.stage, Number(s.n)])));

  if (IMPORT_ORDERS > 0) {
    const header = 'orderId,placedAt,total,currency,phone,sku,itemName,category,quantity,price';
    const customers = Math.max(1, Math.floor(IMPORT_ORDERS / 5));
    function* rows() {
      yield `${header}\n`;
      for (let i = 0; i < IMPORT_ORDERS; i++) {
        const c = i % customers;
        const at = new Date(NOW.getTime() - (i / customers + 1) * 28 * DAY).toISOString();
        yield `IMP-${i},${at},88.00,CNY,+86139${String(c).padStart(8, '0')},BEAN,耶加雪菲,coffee,1,88.00\n`;
      }
    }
    // nothing is sent from here: no adapters, no outbound hooks, every email setting off
    const domain: Domain = {
      db,
      wecom: null,
      log: pino({ level: 'silent' }),
      now: () => NOW,
      timeZone: 'Asia/Shanghai',
      storeName: 'bench',
      lifecycle: T,
      adapters: {},
      sending: { smsSignName: null, email: loadEmailConfig({}, [], []), wecomCardUrl: 'https://work.weixin.qq.com/' },
    };
    await timed(`CSV import: ${IMPORT_ORDERS} orders, ${customers} customers`, async () => {
      const r = await importOrders(domain, Readable.from(rows()), { timeZone: 'Asia/Shanghai' });
      return { imported: r.imported, skipped: r.skipped, errors: r.errors.length };
    });
  }
  await db.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
