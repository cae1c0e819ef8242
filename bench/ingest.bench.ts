// Ingest benchmark (issue 2): how many WeCom callbacks per second the web role verifies, decrypts
// and durably commits, against a bare Koa endpoint on the same machine.
//
//   npm run bench:ingest
//
// Knobs (env): BENCH_DURATION seconds per timed run (15), BENCH_WARMUP seconds (3),
// BENCH_CONNECTIONS (64), BENCH_N pre-generated callbacks (default 9,000 per second of run),
// BENCH_PROFILE=1 runs the service under `node --cpu-prof` into bench/out/ and prints a summary,
// BENCH_SKIP_BUILD=1 uses the existing dist/, BENCH_ONLY=service|bare runs one side,
// BENCH_WAIT_QUIET=seconds waits up to that long for the rest of the machine to go idle first,
// BENCH_NODE_FLAGS adds node flags for the service (e.g. --max-semi-space-size=32).
//
// Layout: this process generates load (autocannon); the service (compiled, ROLE=web) and the bare
// Koa endpoint each run in their own child process; MariaDB and Redis are the machine's own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import Redis from 'ioredis';
import { sealCallback } from '../channels/wecom/crypto';
import { createDataSource, ensureDatabase, migrate } from '../src/platform/db';
import { formatSummary, summarise } from './cpuprofile-summary';
import { cpuSeconds, machineCpu, pidsNamed } from './proc-stats';

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'bench', 'out');
const DATABASE_URL = 'mysql://root@127.0.0.1:3306/touchpoint_bench';
const REDIS_URL = 'redis://127.0.0.1:6379/14';
const WECOM = { corpId: 'wwbenchcorp0001', token: 'benchToken42', encodingAesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C' };

const intEnv = (name: string, def: number, min: number, max: number) => {
  const v = process.env[name];
  const n = v === undefined || v === '' ? def : Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer in [${min}, ${max}]`);
  return n;
};
const DURATION = intEnv('BENCH_DURATION', 15, 1, 300);
const WARMUP = intEnv('BENCH_WARMUP', 3, 0, 60);
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 64, 1, 1000);
const N = intEnv('BENCH_N', 9000 * (DURATION + WARMUP), 1000, 5_000_000);
const PROFILE = process.env.BENCH_PROFILE === '1';
const ONLY = process.env.BENCH_ONLY ?? '';
const STAMP = new Date().toISOString().replace(/[:.]/g, '-');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => console.log(s);

// ---------------------------------------------------------------------------------------------
// processes

const children = new Set<ChildProcess>();

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function startChild(name: string, args: string[], env: Record<string, string>): ChildProcess {
  fs.mkdirSync(OUT, { recursive: true });
  const logFile = path.join(OUT, `${name}-${STAMP}.log`);
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  children.add(child);
  child.once('exit', (code, signal) => {
    children.delete(child);
    if (code !== 0 && signal !== 'SIGTERM') console.error(`${name} exited with ${code ?? signal}; see ${path.relative(ROOT, logFile)}`);
  });
  return child;
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function waitForHttp(url: string, child: ChildProcess, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${what} did not answer 200 at ${url} within ${timeoutMs} ms`);
}

type CpuSnapshot = Record<string, number>;
function cpuSnapshot(targets: Record<string, number[]>): CpuSnapshot {
  const m = machineCpu();
  const snap: CpuSnapshot = { '(machine busy)': m.busy, '(steal)': m.steal };
  for (const [k, pids] of Object.entries(targets)) snap[k] = pids.reduce((a, p) => a + cpuSeconds(p), 0);
  const own = process.cpuUsage();
  snap['load generator (this process)'] = (own.user + own.system) / 1e6;
  return snap;
}

/** Each process's CPU over the run, then everything else on the machine, in % of one core. */
function cpuReport(before: CpuSnapshot, after: CpuSnapshot, seconds: number): string {
  const pct = (k: string) => ((after[k] - (before[k] ?? 0)) / seconds) * 100;
  const named = Object.keys(after).filter((k) => !k.startsWith('('));
  const others = pct('(machine busy)') - named.reduce((a, k) => a + pct(k), 0);
  return [...named.map((k) => `${k} ${pct(k).toFixed(0)}%`), `everything else ${Math.max(0, others).toFixed(0)}%`, `steal ${pct('(steal)').toFixed(0)}%`].join(', ');
}

// ---------------------------------------------------------------------------------------------
// the callbacks

interface Sealed {
  path: string;
  body: string;
}

const MSG_ID_BASE = 7_345_678_901_234_560_000n; // above 2^53: MsgId must survive as a string
const EVENT_USER_PREFIX = 'wmBench';

/** Every fifth callback is a customer-contact event (de-duplicated by a hash), the rest are text messages (by MsgId). */
function callbackXml(i: number, now: number): string {
  if (i % 5 === 4) {
    return (
      `<xml><ToUserName><![CDATA[${WECOM.corpId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
      `<CreateTime>${now}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event>` +
      `<ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[staff${i % 37}]]></UserID>` +
      `<ExternalUserID><![CDATA[${EVENT_USER_PREFIX}${i}]]></ExternalUserID><State><![CDATA[bench]]></State>` +
      `<WelcomeCode><![CDATA[WELCOMECODE${i}]]></WelcomeCode></xml>`
    );
  }
  return (
    `<xml><ToUserName><![CDATA[${WECOM.corpId}]]></ToUserName><FromUserName><![CDATA[user${i % 997}]]></FromUserName>` +
    `<CreateTime>${now}</CreateTime><MsgType><![CDATA[text]]></MsgType>` +
    `<Content><![CDATA[hello from the ingest benchmark, message ${i}]]></Content>` +
    `<MsgId>${MSG_ID_BASE + BigInt(i)}</MsgId><AgentID>1000002</AgentID></xml>`
  );
}

/** Index of a callback from its stored payload (inverse of callbackXml), or -1. */
function indexOfPayload(msgId: string | null, externalUserId: string | null): number {
  if (msgId) return Number(BigInt(msgId) - MSG_ID_BASE);
  if (externalUserId?.startsWith(EVENT_USER_PREFIX)) return Number(externalUserId.slice(EVENT_USER_PREFIX.length));
  return -1;
}

function generate(n: number): Sealed[] {
  const ts = Math.floor(Date.now() / 1000);
  const out: Sealed[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = sealCallback(WECOM, callbackXml(i, ts), String(ts), String(1_000_000_000 + i));
    out[i] = { path: `/webhooks/wecom?${new URLSearchParams(s.query)}`, body: s.body };
  }
  return out;
}

// per-callback state: what happened to the request that carried it
const UNSENT = 0;
const SENT = 1;
const OK = 2;
const NOT_OK = 3;

class Feed {
  next = 0;
  readonly state: Uint8Array;
  exhausted = false;

  constructor(readonly calls: Sealed[]) {
    this.state = new Uint8Array(calls.length);
  }

  /** An autocannon request whose every send carries the next pre-generated callback. */
  request(track: boolean): autocannon.Request {
    return {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      setupRequest: (req, context) => {
        if (this.next >= this.calls.length) {
          this.exhausted = true;
          this.next = 0; // repeats would be de-duplicated; the run is marked invalid below
        }
        const i = this.next++;
        const c = this.calls[i];
        if (track) {
          this.state[i] = SENT;
          (context as { i?: number }).i = i;
        }
        return { ...req, path: c.path, body: c.body };
      },
      onResponse: track
        ? (status, _body, context) => {
            const i = (context as { i?: number }).i;
            if (i !== undefined) this.state[i] = status === 200 ? OK : NOT_OK;
          }
        : undefined,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// load

interface RunResult {
  label: string;
  seconds: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  statusCodes: Record<string, number>;
  cpu: string;
  /** CPU time of the target process per 200 response, µs */
  cpuPerOkUs: number;
}

async function drive(label: string, target: string, url: string, feed: Feed, seconds: number, track: boolean, cpuTargets: Record<string, number[]>): Promise<RunResult> {
  const before = cpuSnapshot(cpuTargets);
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    requests: [feed.request(track)],
  });
  const after = cpuSnapshot(cpuTargets);
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = s.count ?? 0;
  return {
    label,
    seconds: result.duration,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    rps: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    statusCodes,
    cpu: cpuReport(before, after, result.duration),
    cpuPerOkUs: ((after[target] - before[target]) / Math.max(1, result['2xx'])) * 1e6,
  };
}

function printRun(r: RunResult): void {
  log(
    `${r.label}: ${r.rps.toFixed(0)}/s (${r.ok} × 200 in ${r.seconds}s), latency p50 ${r.p50} ms, p90 ${r.p90} ms, p99 ${r.p99} ms, max ${r.max} ms` +
      (r.non2xx || r.errors ? `; non-2xx ${r.non2xx} ${JSON.stringify(r.statusCodes)}, errors ${r.errors} (timeouts ${r.timeouts})` : ''),
  );
  log(`  CPU (100% = one core, 200% = the machine): ${r.cpu}; ${r.cpuPerOkUs.toFixed(0)} µs of target CPU per 200`);
}

// ---------------------------------------------------------------------------------------------
// the service

async function prepareDatabase(): Promise<void> {
  await ensureDatabase(DATABASE_URL);
  const ds = createDataSource(DATABASE_URL, 2);
  await ds.initialize();
  try {
    await migrate(ds);
    await ds.query('TRUNCATE TABLE inbound_event');
  } finally {
    await ds.destroy();
  }
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    await redis.flushdb();
  } finally {
    await redis.quit();
  }
}

interface Verification {
  rows: number;
  ok: number;
  okStored: number;
  inFlightAtStop: number;
  inFlightStored: number;
  notOkStored: number;
  unsentStored: number;
  unknownRows: number;
  durable: boolean;
}

/** Every callback answered 200 must be in inbound_event; rows = 200s + requests cut off in flight that landed. */
async function verify(feed: Feed): Promise<Verification> {
  const ds = createDataSource(DATABASE_URL, 2);
  await ds.initialize();
  try {
    const rows: { m: string | null; u: string | null }[] = await ds.query(
      `SELECT JSON_VALUE(payload, '$.MsgId') AS m, JSON_VALUE(payload, '$.ExternalUserID') AS u FROM inbound_event`,
    );
    const stored = new Uint8Array(feed.calls.length);
    let unknownRows = 0;
    for (const r of rows) {
      const i = indexOfPayload(r.m, r.u);
      if (i < 0 || i >= stored.length) unknownRows++;
      else stored[i] = 1;
    }
    const v: Verification = { rows: rows.length, ok: 0, okStored: 0, inFlightAtStop: 0, inFlightStored: 0, notOkStored: 0, unsentStored: 0, unknownRows, durable: false };
    for (let i = 0; i < feed.state.length; i++) {
      const s = feed.state[i];
      if (s === OK) (v.ok++, (v.okStored += stored[i]));
      else if (s === SENT) (v.inFlightAtStop++, (v.inFlightStored += stored[i]));
      else if (s === NOT_OK) v.notOkStored += stored[i];
      else if (s === UNSENT) v.unsentStored += stored[i];
    }
    v.durable =
      !feed.exhausted && v.okStored === v.ok && v.unknownRows === 0 && v.unsentStored === 0 && v.rows === v.ok + v.inFlightStored + v.notOkStored;
    return v;
  } finally {
    await ds.destroy();
  }
}

const DB_COUNTERS = ['Com_insert', 'Com_select', 'Innodb_log_writes', 'Innodb_data_fsyncs'];

/** Server-wide MariaDB and Redis counters (shared with anything else using them during the run). */
async function serverCounters(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const ds = createDataSource(DATABASE_URL, 1);
  await ds.initialize();
  try {
    const rows: { Variable_name: string; Value: string }[] = await ds.query(
      `SHOW GLOBAL STATUS WHERE Variable_name IN (${DB_COUNTERS.map(() => '?').join(',')})`,
      DB_COUNTERS,
    );
    for (const r of rows) out[r.Variable_name] = Number(r.Value);
  } finally {
    await ds.destroy();
  }
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    const info = await redis.info('stats');
    out.redis_commands = Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
  } finally {
    await redis.quit();
  }
  return out;
}

function countersReport(before: Record<string, number>, after: Record<string, number>, events: number): string {
  const d = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
  const per = (k: string) => (d(k) > 0 ? (events / d(k)).toFixed(1) : '-');
  return (
    `MariaDB: ${d('Com_insert')} INSERT statements (${per('Com_insert')} events each), ${d('Com_select')} SELECTs, ` +
    `${d('Innodb_log_writes')} redo-log writes, ${d('Innodb_data_fsyncs')} fsyncs (${per('Innodb_data_fsyncs')} events each); ` +
    `Redis: ${d('redis_commands')} commands (${(d('redis_commands') / Math.max(1, events)).toFixed(1)} per event)`
  );
}

/** The inbound jobs waiting in Bull (job id = event id) against the ids in inbound_event. */
async function checkQueue(): Promise<string> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  const ds = createDataSource(DATABASE_URL, 1);
  try {
    const jobIds = new Set(await redis.lrange('touchpoint:inbound:wait', 0, -1));
    await ds.initialize();
    const rows: { id: string | number }[] = await ds.query('SELECT id FROM inbound_event');
    const missing = rows.filter((r) => !jobIds.has(String(r.id))).length;
    const extra = jobIds.size - (rows.length - missing);
    return `${jobIds.size} inbound jobs waiting in Redis (ROLE=web runs no worker); ${missing} stored events without a job, ${extra} jobs naming no stored event` + (missing || extra ? ' → MISMATCH' : ' → ids OK');
  } finally {
    await redis.quit();
    if (ds.isInitialized) await ds.destroy();
  }
}

async function benchService(calls: Sealed[], cpuTargets: Record<string, number[]>): Promise<RunResult> {
  const port = await freePort();
  const nodeArgs = ['--enable-source-maps', ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)];
  const profileName = `service-${STAMP}.cpuprofile`;
  if (PROFILE) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', OUT, '--cpu-prof-name', profileName);
  const child = startChild('service', [...nodeArgs, path.join(ROOT, 'dist', 'src', 'main.js')], {
    ROLE: 'web',
    PORT: String(port),
    DATABASE_URL,
    REDIS_URL,
    LOG_LEVEL: 'warn',
    ADMIN_TOKEN: 'bench-admin-token-0123456789',
    WECOM_CORP_ID: WECOM.corpId,
    WECOM_TOKEN: WECOM.token,
    WECOM_ENCODING_AES_KEY: WECOM.encodingAesKey,
    NODE_ENV: 'production',
  });
  let result: RunResult;
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/healthz`, child, 'the service');
    const feed = new Feed(calls);
    const targets = { ...cpuTargets, service: [child.pid!] };
    if (WARMUP > 0) {
      const w = await drive('service warm-up', 'service', `${base}/webhooks/wecom`, feed, WARMUP, true, targets);
      printRun(w);
    }
    const countersBefore = await serverCounters();
    result = await drive('service', 'service', `${base}/webhooks/wecom`, feed, DURATION, true, targets);
    printRun(result);
    await sleep(500); // let requests cut off at the stop finish their commit (and their enqueue)
    log(`  ${countersReport(countersBefore, await serverCounters(), result.ok)}`);
    const v = await verify(feed);
    log(
      `  verified: ${v.rows} rows in inbound_event; ${v.ok} answered 200, ${v.okStored} of them stored` +
        `; ${v.inFlightAtStop} in flight when the load stopped, ${v.inFlightStored} of them stored` +
        (v.notOkStored || v.unsentStored || v.unknownRows ? `; unexpected rows: ${v.notOkStored} answered non-200, ${v.unsentStored} never sent, ${v.unknownRows} unknown` : '') +
        ` → ${v.durable ? 'OK: every 200 is committed, rows = 200s + cut-off requests that landed' : 'MISMATCH'}`,
    );
    if (feed.exhausted) log(`  INVALID: ran out of the ${calls.length} pre-generated callbacks; raise BENCH_N`);
    const queue = await checkQueue();
    log(`  Bull: ${queue}`);
    if (queue.endsWith('MISMATCH')) process.exitCode = 1;
    if (!v.durable) process.exitCode = 1;
  } finally {
    await stopChild(child);
  }
  if (PROFILE) {
    const file = path.join(OUT, profileName);
    if (fs.existsSync(file)) log(formatSummary(summarise(file, 30)));
    else log(`  (no profile written at ${file})`);
  }
  return result;
}

async function benchBare(calls: Sealed[], cpuTargets: Record<string, number[]>): Promise<RunResult> {
  const port = await freePort();
  const child = startChild('bare-koa', ['--import', 'tsx', path.join(ROOT, 'bench', 'bare-koa.server.ts')], { PORT: String(port), NODE_ENV: 'production' });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/`, child, 'the bare Koa endpoint');
    const feed = new Feed(calls);
    const targets = { ...cpuTargets, 'bare koa': [child.pid!] };
    if (WARMUP > 0) printRun(await drive('bare Koa warm-up', 'bare koa', `${base}/webhooks/wecom`, feed, WARMUP, false, targets));
    const r = await drive('bare Koa', 'bare koa', `${base}/webhooks/wecom`, feed, DURATION, false, targets);
    printRun(r);
    return r;
  } finally {
    await stopChild(child);
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  log(`ingest benchmark: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  log(`  ${CONNECTIONS} connections, ${WARMUP}s warm-up + ${DURATION}s per target, ${N} pre-generated callbacks${PROFILE ? ', service under --cpu-prof' : ''}`);
  if (ONLY !== 'bare') {
    if (process.env.BENCH_SKIP_BUILD !== '1') {
      const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
      if (b.status !== 0) throw new Error('npm run build failed (BENCH_SKIP_BUILD=1 runs the dist/ already there)');
    }
    await prepareDatabase();
  }

  // the load generator, the service, MariaDB and Redis share the machine: anything else running skews the run
  const waitQuiet = intEnv('BENCH_WAIT_QUIET', 0, 0, 3600);
  let busyBefore = 0;
  for (const deadline = Date.now() + waitQuiet * 1000; ; ) {
    const m0 = machineCpu();
    await sleep(1000);
    busyBefore = (machineCpu().busy - m0.busy) * 100;
    if (busyBefore <= 20 || Date.now() >= deadline) break;
  }
  log(`  machine busy before the run: ${busyBefore.toFixed(0)}% of one core${busyBefore > 20 ? ' (something else is running: the numbers below will be low)' : ''}`);

  const t0 = Date.now();
  const calls = generate(N);
  log(`  generated ${N} signed and encrypted callbacks in ${((Date.now() - t0) / 1000).toFixed(1)}s`);

  const cpuTargets = { mariadb: pidsNamed(['mariadbd', 'mysqld']), redis: pidsNamed(['redis-server']) };
  let service: RunResult | null = null;
  let bare: RunResult | null = null;
  if (ONLY !== 'bare') service = await benchService(calls, cpuTargets);
  if (ONLY !== 'service') bare = await benchBare(calls, cpuTargets);

  if (service && bare) {
    log('');
    log(`| target | events/s | p50 ms | p99 ms |`);
    log(`|---|---:|---:|---:|`);
    for (const r of [service, bare]) log(`| ${r.label} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} |`);
    log(`ratio service / bare Koa: ${((100 * service.rps) / bare.rps).toFixed(1)}% (bare Koa is ${(bare.rps / service.rps).toFixed(1)}× faster)`);
  }
  if (service) {
    const goal = service.rps >= 3000 && service.p99 < 50;
    log(`goal (≥ 3,000/s, p99 < 50 ms): ${goal ? 'met' : 'NOT met'}`);
  }
}

const cleanup = () => {
  for (const c of children) c.kill('SIGKILL');
};
process.on('exit', cleanup);
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
  cleanup();
});
