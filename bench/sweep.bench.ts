// Daily sweep benchmark (issue 4): seeds a store of 1,000,000 customers — birthdays, purchase rhythm
// (the order histories the reorder sweep reads), last activity and dormancy spells, WeCom relations,
// phones, emails, opt-outs — with multi-row INSERTs into its own database, then times the daily sweep
// of the birthday, reorder and win-back campaigns in a separate worker process: candidate selection
// through the enqueue of every delivery. About 3% of customers are eligible that day.
//
//   npm run bench:sweep
//
// Knobs (env): BENCH_CUSTOMERS (1000000), BENCH_RESEED=1 (seed again even if the database already
// holds this seed), BENCH_BATCH (500 candidates per page/transaction), BENCH_CONCURRENCY (3 batches in
// flight), BENCH_POOL (10 MySQL connections in the worker).
// Database touchpoint_bench_sweep, Redis db 13. Goal: < 30 s and < 500 MB worker RSS for 1M customers.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import { createDataSource, ensureDatabase, migrate } from '../src/platform/db';
import { DEFAULT_CAMPAIGNS, putCampaign, type CampaignConfig } from '../src/outreach/campaigns';
import { birthdayMonthDays } from '../src/outreach/birthday.campaign';
import { CATCH_UP_DAYS } from '../src/outreach/candidates';
import { addDays, zonedTime } from '../src/platform/store-time';

const ROOT = path.resolve(__dirname, '..');
const DATABASE_URL = 'mysql://root@127.0.0.1:3306/touchpoint_bench_sweep';
const REDIS_URL = 'redis://127.0.0.1:6379/13';
const TZ = 'Asia/Shanghai';
const DATE = '2026-06-15';
const SEED_VERSION = 'sweep-v1';
const DAY = 86_400_000;

const N = Number(process.env.BENCH_CUSTOMERS ?? 1_000_000);
const RESEED = process.env.BENCH_RESEED === '1';
const log = (s: string) => console.log(s);

// the day swept: thresholds are judged at its end, messages go out at 10:00 store time
const AS_OF = zonedTime(addDays(DATE, 1), TZ).getTime();
const NOW = zonedTime(DATE, TZ, '10:00');
const GRACE_DAYS = 3;
const DORMANT_DAYS = 90;

/** Deterministic PRNG (mulberry32), so every seed is the same store. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sqlDate = (ms: number) => `'${new Date(ms).toISOString().slice(0, 23).replace('T', ' ')}'`;
const q = (s: string | null) => (s === null ? 'NULL' : `'${s.replace(/'/g, "''")}'`);
const PRODUCTS = ['耶加雪菲咖啡豆', '曼特宁咖啡豆', '冷萃咖啡液', '燕麦奶', '挂耳咖啡', '手冲滤纸', '哥伦比亚咖啡豆', '滴滤壶'];

interface Chunk {
  customers: string[];
  rhythm: string[];
  identities: string[];
  follows: string[];
  consents: string[];
}

/** Customers [from, to): one row each, plus their rhythm, WeCom relation and opt-out rows. */
function buildChunk(from: number, to: number): Chunk {
  const c: Chunk = { customers: [], rhythm: [], identities: [], follows: [], consents: [] };
  const seen = sqlDate(AS_OF - 400 * DAY);
  for (let id = from; id < to; id++) {
    const r = prng(id * 7919 + 17);
    const u = r();
    let lastOrder: number | null = null;
    let dormantSince: number | null = null;
    let stage = 'active';
    let orders = 0;
    let rhythm: { gap: number; expected: number; last: number } | null = null;
    let firstSeen = AS_OF - (400 + r() * 800) * DAY;
    if (u < 0.015) {
      // reorder: expected next order passed by more than the grace days, within the catch-up window
      const gap = 20 + r() * 20;
      const expected = AS_OF - GRACE_DAYS * DAY - r() * (CATCH_UP_DAYS - 0.5) * DAY;
      rhythm = { gap, expected, last: expected - gap * DAY };
      orders = 3 + Math.floor(r() * 10);
    } else if (u < 0.027) {
      // win-back: a dormancy spell that began within the catch-up window
      dormantSince = AS_OF - r() * (CATCH_UP_DAYS - 0.5) * DAY;
      lastOrder = dormantSince - DORMANT_DAYS * DAY;
      orders = 1 + Math.floor(r() * 4);
      stage = 'dormant';
    } else if (u < 0.3) {
      // dormant or churned long ago: their spell started before the window
      dormantSince = AS_OF - (CATCH_UP_DAYS + 1 + r() * 700) * DAY;
      lastOrder = dormantSince - DORMANT_DAYS * DAY;
      orders = 1 + Math.floor(r() * 6);
      stage = lastOrder < AS_OF - 365 * DAY ? 'churned' : 'dormant';
    } else if (u < 0.7) {
      // buying regularly: next order expected from today on
      const gap = 20 + r() * 20;
      const last = AS_OF - 2 * DAY - r() * (gap - 2) * DAY;
      rhythm = { gap, expected: last + gap * DAY, last };
      orders = 2 + Math.floor(r() * 20);
    } else {
      // new: seen recently, at most one order
      firstSeen = AS_OF - r() * 60 * DAY;
      if (r() < 0.4) {
        lastOrder = firstSeen + r() * (AS_OF - DAY - firstSeen);
        orders = 1;
      }
      stage = 'new';
    }
    if (rhythm) lastOrder = rhythm.last;
    else if (lastOrder !== null && orders >= 2 && r() < 0.8) {
      // an old rhythm whose expected date is long past (never in the reorder window)
      const gap = 20 + r() * 20;
      rhythm = { gap, expected: lastOrder + gap * DAY, last: lastOrder };
    }
    if (lastOrder !== null) firstSeen = Math.min(firstSeen, lastOrder - DAY);
    let birthday: string | null = null;
    if (r() < 0.85) {
      const doy = Math.floor(r() * 366);
      const d = new Date(Date.UTC(2000, 0, 1) + doy * DAY); // 2000 is a leap year: 366 month-days
      const md = d.toISOString().slice(5, 10);
      const year = md === '02-29' ? 1960 + 4 * Math.floor(r() * 11) : 1960 + Math.floor(r() * 45);
      birthday = r() < 0.1 ? `--${md}` : `${year}-${md}`;
    }
    const phone = r() < 0.8 ? `+86138${String(id).padStart(8, '0')}` : null;
    const email = r() < 0.4 ? `c${id}@example.com` : null;
    const name = r() < 0.9 ? `顾客${id}` : null;
    const gender = Math.floor(r() * 3);
    const total = orders ? (orders * (30 + r() * 150)).toFixed(2) : '0.00';
    c.customers.push(
      `(${id},${q(name)},${q(phone)},${q(email)},${q(birthday)},${gender},0,${sqlDate(firstSeen)},${sqlDate(firstSeen)},${seen},${orders},${total},${lastOrder === null ? 'NULL' : sqlDate(lastOrder)},NULL,'${stage}',${dormantSince === null ? 'NULL' : sqlDate(dormantSince)})`,
    );
    if (rhythm) {
      c.rhythm.push(
        `(${id},'',${orders},${sqlDate(rhythm.last)},${id * 10},${q(PRODUCTS[id % PRODUCTS.length])},${rhythm.gap.toFixed(2)},${sqlDate(rhythm.expected)},${seen})`,
      );
    }
    if (r() < 0.35) {
      c.identities.push(`(${id},'wecom','wmBENCH${id}',${seen})`);
      c.follows.push(`(${id},'staff${id % 50}','active',${sqlDate(firstSeen)},${seen})`);
    }
    if (r() < 0.02) c.consents.push(`(${id},'sms','opted_out',${seen},0)`);
  }
  return c;
}

async function insertChunk(conn: mysql.PoolConnection, c: Chunk): Promise<void> {
  await conn.query(
    `INSERT INTO customer (id, name, phone, email, birthday, gender, churn_risk, first_seen_at, created_at, updated_at, order_count, total_spent, last_order_at, last_inbound_at, lifecycle_stage, dormant_since) VALUES ${c.customers.join(',')}`,
  );
  if (c.rhythm.length) {
    await conn.query(
      `INSERT INTO customer_rhythm (customer_id, category, order_count, last_order_at, last_order_id, last_product, median_gap_days, expected_next_at, updated_at) VALUES ${c.rhythm.join(',')}`,
    );
  }
  if (c.identities.length) await conn.query(`INSERT INTO customer_identity (customer_id, channel, external_id, created_at) VALUES ${c.identities.join(',')}`);
  if (c.follows.length) await conn.query(`INSERT INTO customer_follow (customer_id, staff_user_id, status, added_at, updated_at) VALUES ${c.follows.join(',')}`);
  if (c.consents.length) await conn.query(`INSERT INTO customer_consent (customer_id, channel, status, changed_at, last_event_id) VALUES ${c.consents.join(',')}`);
}

async function seed(pool: mysql.Pool): Promise<void> {
  const t0 = performance.now();
  await pool.query('SET FOREIGN_KEY_CHECKS = 0');
  for (const t of ['campaign_candidate', 'coupon', 'timeline_entry', 'delivery', 'customer_consent', 'consent_event', 'customer_follow', 'customer_identity', 'customer_rhythm', 'customer']) {
    await pool.query(`TRUNCATE TABLE ${t}`);
  }
  const CHUNK = 5000;
  let next = 1;
  let done = 0;
  const worker = async () => {
    const conn = await pool.getConnection();
    try {
      await conn.query('SET FOREIGN_KEY_CHECKS = 0, UNIQUE_CHECKS = 0');
      for (;;) {
        const from = next;
        if (from > N) return;
        next += CHUNK;
        await insertChunk(conn, buildChunk(from, Math.min(N + 1, from + CHUNK)));
        done += Math.min(N + 1, from + CHUNK) - from;
        if (done % 100_000 < CHUNK) process.stdout.write(`  seeded ${done.toLocaleString('en')} customers (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
      }
    } finally {
      conn.release();
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  await pool.query(`INSERT INTO bench_seed (version, customers) VALUES (?, ?)`, [SEED_VERSION, N]);
  log(`  seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

function machineBusy(): { busy: number; total: number } {
  const [cpu] = fs.readFileSync('/proc/stat', 'utf8').split('\n');
  const v = cpu.split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function runWorker(kinds?: string): Promise<{ runs: { kind: string; candidates: number; created: number; skipped: Record<string, number>; ms: number }[]; totalMs: number; rssAtStartMb: number; rssPeakMb: number; heapPeakMb: number; vmHwmMb: number | null; machineBusyPct: number; cpu: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const before = machineBusy();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'sweep-worker.ts')], {
      cwd: ROOT,
      env: { ...process.env, BENCH_DATABASE_URL: DATABASE_URL, BENCH_REDIS_URL: REDIS_URL, BENCH_DATE: DATE, BENCH_NOW: NOW.toISOString(), ...(kinds ? { BENCH_KINDS: kinds } : {}) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const after = machineBusy();
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) return reject(new Error(`worker exited ${code}: ${out}`));
      const busyPct = ((after.busy - before.busy) / Math.max(1, after.total - before.total)) * 100 * os.cpus().length;
      resolve({ ...JSON.parse(line.slice(7)), machineBusyPct: busyPct });
    });
  });
}

async function main(): Promise<void> {
  log(`sweep benchmark: ${N.toLocaleString('en')} customers, day ${DATE} (${TZ}); ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  await ensureDatabase(DATABASE_URL);
  const ds = createDataSource(DATABASE_URL, 4);
  await ds.initialize();
  await migrate(ds);
  await ds.query(`CREATE TABLE IF NOT EXISTS bench_seed (version varchar(32) NOT NULL, customers int NOT NULL, PRIMARY KEY (version, customers))`);
  const [{ version }] = await ds.query(`SELECT VERSION() AS version`);
  const [{ bp }] = await ds.query(`SELECT @@innodb_buffer_pool_size AS bp`);
  log(`  MariaDB ${version}, buffer pool ${Math.round(Number(bp) / 2 ** 20)} MB; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const url = new URL(DATABASE_URL);
  const pool = mysql.createPool({ host: url.hostname, port: Number(url.port), user: url.username, database: url.pathname.slice(1), connectionLimit: 4, timezone: 'Z' });
  const seeded = await ds.query(`SELECT 1 FROM bench_seed WHERE version = ? AND customers = ?`, [SEED_VERSION, N]);
  const [{ n: have }] = await ds.query(`SELECT COUNT(*) AS n FROM customer`);
  if (RESEED || !seeded.length || Number(have) !== N) {
    await ds.query(`DELETE FROM bench_seed`);
    log(`  seeding ${N.toLocaleString('en')} customers (multi-row INSERTs of 5,000, three connections)…`);
    await seed(pool);
  } else {
    log(`  reusing the seeded store (BENCH_RESEED=1 to seed again)`);
  }

  // a clean day: no deliveries yet, an empty Redis db
  await ds.query('SET FOREIGN_KEY_CHECKS = 0');
  for (const t of ['campaign_candidate', 'coupon', 'timeline_entry', 'delivery']) await ds.query(`TRUNCATE TABLE ${t}`);
  await ds.query('SET FOREIGN_KEY_CHECKS = 1');
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  const coupon = (prefix: string) => ({ value: 20, validDays: 14, prefix });
  const channels: CampaignConfig['channels'] = ['wecom', 'sms', 'email'];
  const sms = { templateId: '1110001', signName: '咖啡小店', params: ['{{name}}', '{{coupon.value}}', '{{coupon.code}}', '{{coupon.expiresAt}}'] };
  for (const [kind, prefix] of [['birthday', 'BDAY-'], ['reorder', 'RE-'], ['winback', 'WB-']] as const) {
    await putCampaign(ds, kind, { ...DEFAULT_CAMPAIGNS[kind], enabled: true, channels, templates: { ...DEFAULT_CAMPAIGNS[kind].templates, sms }, coupon: coupon(prefix) }, 'bench', new Date());
  }

  // what the day should find, counted independently of the sweep
  const mds = birthdayMonthDays(DATE);
  const [{ n: bday }] = await ds.query(`SELECT COUNT(*) AS n FROM customer WHERE birthday_md IN (${mds.map(() => '?').join(',')})`, mds);
  const [{ n: reorder }] = await ds.query(`SELECT COUNT(*) AS n FROM customer_rhythm WHERE category = '' AND expected_next_at > ? AND expected_next_at <= ?`, [
    new Date(AS_OF - (GRACE_DAYS + CATCH_UP_DAYS) * DAY),
    new Date(AS_OF - GRACE_DAYS * DAY),
  ]);
  const [{ n: winback }] = await ds.query(`SELECT COUNT(*) AS n FROM customer WHERE dormant_since > ? AND dormant_since <= ?`, [new Date(AS_OF - CATCH_UP_DAYS * DAY), new Date(AS_OF)]);
  const eligible = Number(bday) + Number(reorder) + Number(winback);
  log(`  eligible on ${DATE}: birthday ${bday}, reorder ${reorder}, win-back ${winback} = ${eligible} (${((eligible / N) * 100).toFixed(2)}% of customers)`);

  log(`  sweeping (worker process)…`);
  const first = await runWorker();
  for (const r of first.runs) log(`    ${r.kind.padEnd(8)} ${String(r.candidates).padStart(6)} candidates → ${String(r.created).padStart(6)} deliveries in ${(r.ms / 1000).toFixed(2)} s  skipped ${JSON.stringify(r.skipped)}`);
  log(`  first sweep: ${(first.totalMs / 1000).toFixed(2)} s; worker RSS ${first.rssAtStartMb.toFixed(0)} MB at start, peak ${first.rssPeakMb.toFixed(0)} MB (VmHWM ${first.vmHwmMb?.toFixed(0)} MB), heap peak ${first.heapPeakMb.toFixed(0)} MB`);
  const c = first.cpu;
  log(`  CPU during the sweep, % of one core: worker ${c.worker.toFixed(0)}, MariaDB ${c.mariadb.toFixed(0)}, Redis ${c.redis.toFixed(0)}, everything else ${c.others.toFixed(0)} (machine ${c.machine.toFixed(0)} of 200)`);

  // everything it made is there once: deliveries, coupons, send jobs
  const created = first.runs.reduce((a, r) => a + r.created, 0);
  const [{ n: deliveries }] = await ds.query(`SELECT COUNT(*) AS n FROM delivery`);
  const [{ n: coupons }] = await ds.query(`SELECT COUNT(*) AS n FROM coupon`);
  let jobs = 0;
  for (const ch of ['sms', 'email', 'wecom']) jobs += (await redis.zcard(`touchpoint:send-${ch}:delayed`)) + (await redis.llen(`touchpoint:send-${ch}:wait`));
  log(`  check: ${created} created, ${deliveries} delivery rows, ${coupons} coupons, ${jobs} send jobs in Redis`);
  if (Number(deliveries) !== created || Number(coupons) !== created || jobs !== created) throw new Error('the sweep did not leave one delivery, one coupon and one job per send');

  const second = await runWorker();
  const again = second.runs.reduce((a, r) => a + r.created, 0);
  log(`  the same day swept again: ${again} new deliveries in ${(second.totalMs / 1000).toFixed(2)} s (peak RSS ${second.rssPeakMb.toFixed(0)} MB)`);
  if (again !== 0) throw new Error('a second sweep created deliveries');
  log(`  load average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  log(`  goal: < 30 s and < 500 MB → ${first.totalMs < 30_000 && first.rssPeakMb < 500 ? 'met' : 'NOT met'}`);

  redis.disconnect();
  await pool.end();
  await ds.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
