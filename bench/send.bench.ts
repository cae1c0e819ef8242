// Send benchmark (issue 4): the sender pushing queued marketing deliveries through the contact policy
// (consent, quiet hours, conversation pause, per-customer caps — each under the customer's row lock)
// to a local fake provider. Seeds customers and one queued marketing SMS each into its own database,
// enqueues them all on the send-sms queue (Bull), and times the real worker (the same processors as
// ROLE=worker, in this process) until every delivery has left `queued`. The provider is the local
// Tencent SMS fake (real TC3-signed requests from the real adapter) on 127.0.0.1.
//
//   npm run bench:send
//
// Knobs (env): BENCH_DELIVERIES (20000), BENCH_CONCURRENCY (24 jobs at once), BENCH_POOL (24 MySQL
// connections), BENCH_RESULTS=0 (do not append to bench/RESULTS.md).
// Database touchpoint_bench_send, Redis db 15 under the queue prefix `bench-send`. Goal: ≥ 500 deliveries/s.
// 3 customers in 20 are held back by the policy on purpose (opted out, talking to us right now,
// already messaged today), so the three kinds of refusal are exercised along with the sends; the
// rest are sent. Both rates are reported: deliveries decided per second, and sends per second.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../config';
import { DEFAULT_POLICY, savePolicy } from '../src/sending/contact-policy';
import { createContext } from '../src/context';
import { createDataSource, ensureDatabase, migrate } from '../src/platform/db';
import { startWorker } from '../src/worker';
import { startFakeTencentSms } from '../test/fakes/tencent-sms.fake';
import { cpuSeconds, machineCpu, pidsNamed } from './proc-stats';

const DATABASE_URL = 'mysql://root@127.0.0.1:3306/touchpoint_bench_send';
const REDIS_URL = 'redis://127.0.0.1:6379/15';
const PREFIX = 'bench-send';
const N = Number(process.env.BENCH_DELIVERIES ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 24);
const POOL = Number(process.env.BENCH_POOL ?? 24);
const GOAL = 500;
const log = (s: string) => console.log(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime+stime in seconds of a pid, from /proc (Linux). */

async function main(): Promise<void> {
  // ---------------------------------------------------------------- database: fresh schema, seeded rows
  await ensureDatabase(DATABASE_URL);
  const admin = createDataSource(DATABASE_URL, 4);
  await admin.initialize();
  const tables: { t: string }[] = await admin.query(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'`);
  await admin.query('SET FOREIGN_KEY_CHECKS = 0');
  for (const { t } of tables) await admin.query(`DROP TABLE \`${t}\``);
  await admin.query('SET FOREIGN_KEY_CHECKS = 1');
  await migrate(admin);

  const now = new Date();
  const long = new Date(now.getTime() - 400 * 86_400_000);
  log(`seeding ${N} customers and ${N} queued marketing SMS…`);
  const t0 = Date.now();
  for (let i = 0; i < N; i += 2000) {
    const ids = Array.from({ length: Math.min(2000, N - i) }, (_, k) => i + k + 1);
    await admin.query(
      `INSERT INTO customer (id, name, phone, first_seen_at, created_at, updated_at, churn_risk, last_inbound_at) VALUES ${ids.map(() => '(?, ?, ?, ?, ?, ?, 0, ?)').join(',')}`,
      ids.flatMap((id) => [id, `客户${id}`, `+86139${String(id).padStart(8, '0')}`, long, long, long, id % 20 === 1 ? new Date(now.getTime() - 30 * 60_000) : null]),
    );
    await admin.query(
      `INSERT INTO delivery (id, customer_id, channel, provider, purpose, marketing, idempotency_key, status, to_address, content, created_at, updated_at) VALUES ${ids.map(() => "(?, ?, 'sms', 'tencent', 'birthday', 1, ?, 'queued', ?, ?, ?, ?)").join(',')}`,
      ids.flatMap((id) => [
        id,
        id,
        `bench:birthday:${id}`,
        `+86139${String(id).padStart(8, '0')}`,
        JSON.stringify({ text: `客户${id}，生日快乐！送您一张8折券。拒收请回复R`, templateId: '1110001', signName: '咖啡小店', params: [`客户${id}`, '8'] }),
        now,
        now,
      ]),
    );
    // 1 in 20 opted out of SMS
    const optedOut = ids.filter((id) => id % 20 === 2);
    if (optedOut.length) {
      await admin.query(
        `INSERT INTO customer_consent (customer_id, channel, status, changed_at, last_event_id) VALUES ${optedOut.map(() => "(?, 'sms', 'opted_out', ?, 0)").join(',')}`,
        optedOut.flatMap((id) => [id, long]),
      );
    }
  }
  // 1 in 20 already got an automated message today (the cap is 1 a day): ids after the queued ones
  for (let i = 0; i < N; i += 2000) {
    const capped = Array.from({ length: Math.min(2000, N - i) }, (_, k) => i + k + 1).filter((id) => id % 20 === 3);
    if (capped.length) {
      await admin.query(
        `INSERT INTO delivery (id, customer_id, channel, provider, purpose, marketing, idempotency_key, status, to_address, content, counted_at, sent_at, created_at, updated_at) VALUES ${capped
          .map(() => "(?, ?, 'email', 'smtp', 'reorder', 1, ?, 'sent', 'x@example.com', ?, ?, ?, ?, ?)")
          .join(',')}`,
        capped.flatMap((id) => [N + id, id, `bench:earlier:${id}`, JSON.stringify({ text: 'earlier' }), new Date(now.getTime() - 60_000), new Date(now.getTime() - 60_000), now, now]),
      );
    }
  }
  // quiet hours off (the bench runs at any hour); caps and the 2-hour pause as by default
  await savePolicy(admin, { ...DEFAULT_POLICY, quietHours: null }, 'bench', now);
  log(`seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // ---------------------------------------------------------------- the fake provider and the worker
  const fake = await startFakeTencentSms();
  const config = loadConfig({
    DATABASE_URL,
    REDIS_URL,
    LOG_LEVEL: 'silent',
    STORE_TIMEZONE: 'Asia/Shanghai',
    SMS_PROVIDER: 'tencent',
    SMS_SIGN_NAME: '咖啡小店',
    TENCENT_SMS_SECRET_ID: fake.secretId,
    TENCENT_SMS_SECRET_KEY: fake.secretKey,
    TENCENT_SMS_SDK_APP_ID: fake.sdkAppId,
    TENCENT_SMS_ENDPOINT: fake.endpoint,
    SMS_SEND_RATE_PER_SECOND: '100000',
    INBOX_SWEEP_INTERVAL_SECONDS: '3600',
  });
  const app = await createContext(config, { log: pino({ level: 'silent' }), queuePrefix: PREFIX, poolSize: POOL });
  await Promise.all(app.queues.all.map((q) => q.obliterate({ force: true }).catch(() => undefined)));

  const ids = Array.from({ length: N }, (_, k) => String(k + 1));
  const mysqld = pidsNamed(['mariadbd', 'mysqld']);
  const redis = pidsNamed(['redis-server']);
  const snap = () => ({ me: (process.cpuUsage().user + process.cpuUsage().system) / 1e6, db: mysqld.reduce((a, p) => a + cpuSeconds(p), 0), redis: redis.reduce((a, p) => a + cpuSeconds(p), 0), busy: machineCpu().busy, at: Date.now() });
  const load0 = os.loadavg();
  const before = snap();

  const start = Date.now();
  for (let i = 0; i < ids.length; i += 1000) await app.enqueueDeliveries(ids.slice(i, i + 1000).map((id) => ({ id, channel: 'sms' as const, provider: 'tencent' })));
  const enqueuedMs = Date.now() - start;
  const worker = startWorker(app, { concurrency: CONCURRENCY, sweep: false });
  let left = N;
  while (left > 0) {
    await sleep(250);
    [{ left }] = (await admin.query(`SELECT COUNT(*) AS \`left\` FROM delivery WHERE status = 'queued' AND id <= ?`, [N])).map((r: { left: string }) => ({ left: Number(r.left) }));
  }
  const elapsed = (Date.now() - start) / 1000;
  const after = snap();
  const load1 = os.loadavg();
  await worker.stop();

  const outcomes: { status: string; error_code: string | null; n: string }[] = await admin.query(
    `SELECT status, error_code, COUNT(*) AS n FROM delivery WHERE id <= ? GROUP BY status, error_code ORDER BY status, error_code`,
    [N],
  );
  const secs = (after.at - before.at) / 1000;
  const pct = (a: number, b: number) => `${(((a - b) / secs) * 100).toFixed(0)}%`;
  const others = Math.max(0, after.busy - before.busy - (after.me - before.me) - (after.db - before.db) - (after.redis - before.redis));
  const rate = N / elapsed;
  const sent = Number(outcomes.find((o) => o.status === 'sent')?.n ?? 0);
  const lines = [
    `deliveries: ${N} (${outcomes.map((o) => `${o.status}${o.error_code ? `/${o.error_code}` : ''} ${o.n}`).join(', ')})`,
    `provider calls: ${fake.sent.length} (sent rows ${sent})`,
    `time: ${elapsed.toFixed(2)} s from the first enqueue (enqueue ${enqueuedMs} ms) → ${rate.toFixed(0)} deliveries/s through the policy, of which ${(sent / elapsed).toFixed(0)} sends/s to the provider — goal ≥ ${GOAL}/s: ${rate >= GOAL ? 'met' : 'NOT met'}${sent / elapsed >= GOAL ? ' (sends alone too)' : ' (not by sends alone)'}`,
    `CPU (% of one core over the run): bench+worker+fake ${pct(after.me, before.me)}, MariaDB ${pct(after.db, before.db)}, Redis ${pct(after.redis, before.redis)}, everything else ${((others / secs) * 100).toFixed(0)}%`,
    `load average before ${load0.map((l) => l.toFixed(2)).join(' ')}, after ${load1.map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} CPUs)`,
    `settings: concurrency ${CONCURRENCY}, pool ${POOL}, Node ${process.version}`,
  ];
  for (const l of lines) log(l);
  if (fake.sent.length !== sent) throw new Error(`provider saw ${fake.sent.length} sends but ${sent} rows are sent`);

  if (process.env.BENCH_RESULTS !== '0') {
    const file = path.resolve(__dirname, 'RESULTS.md');
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    const run = `\n### ${new Date().toISOString()}\n\n${lines.map((l) => `- ${l}`).join('\n')}\n`;
    const at = text.indexOf('\n## bench:send\n');
    if (at < 0) {
      const header = `\n## bench:send\n\nThe sender pushing queued marketing SMS through the contact policy to the local Tencent fake (\`npm run bench:send\`, bench/send.bench.ts). Goal ≥ ${GOAL} deliveries/s. Runs are added at the end of this section, newest last; the machine is shared with other engineers' tests, so "everything else" and the load average say how busy it was.\n`;
      fs.writeFileSync(file, text + header + run);
    } else {
      // at the end of this section (other sections are other engineers')
      const next = text.indexOf('\n## ', at + 1);
      const end = next < 0 ? text.length : next;
      fs.writeFileSync(file, text.slice(0, end).replace(/\n*$/, '\n') + run + text.slice(end));
    }
    log(`added to ${file} under ## bench:send`);
  }

  await app.close();
  await fake.close();
  await admin.destroy();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(String(err?.stack ?? err).slice(0, 2000));
    process.exit(1);
  },
);
