// The worker side of `npm run bench:sweep` (started by bench/sweep.bench.ts in its own process, so its
// memory is the worker's alone): runs the daily sweep of each campaign for one day against the seeded
// database — candidate selection through the enqueue of every delivery — and prints one JSON line.
import fs from 'node:fs';
import pino from 'pino';
import { loadConfig } from '../config';
import { createContext } from '../src/context';
import { SWEEP_KINDS, type SweepKind } from '../src/outreach/campaigns';
import { runCampaignSweep } from '../src/outreach/sweep';

function vmHwmMb(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** pids of the database and Redis servers on this machine (their CPU is part of the sweep's cost). */
function serverPids(): Record<string, number[]> {
  const out: Record<string, number[]> = { mariadb: [], redis: [] };
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const comm = fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      if (comm === 'mariadbd' || comm === 'mysqld') out.mariadb.push(Number(d));
      if (comm.startsWith('redis-server')) out.redis.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU seconds so far: the whole machine (busy), this process, MariaDB, Redis. */
function cpuSnapshot(pids: Record<string, number[]>): Record<string, number> {
  const ticks = (pid: number) => {
    try {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return 0;
    }
  };
  const [cpu] = fs.readFileSync('/proc/stat', 'utf8').split('\n');
  const v = cpu.split(/\s+/).slice(1).map(Number);
  const busy = (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] ?? 0)) / 100;
  const u = process.cpuUsage();
  return {
    machine: busy,
    worker: (u.user + u.system) / 1e6,
    mariadb: pids.mariadb.reduce((a, p) => a + ticks(p), 0),
    redis: pids.redis.reduce((a, p) => a + ticks(p), 0),
  };
}

async function main(): Promise<void> {
  const date = process.env.BENCH_DATE!;
  const now = new Date(process.env.BENCH_NOW!);
  const kinds = (process.env.BENCH_KINDS ?? SWEEP_KINDS.join(',')).split(',') as SweepKind[];
  const config = loadConfig({
    DATABASE_URL: process.env.BENCH_DATABASE_URL,
    REDIS_URL: process.env.BENCH_REDIS_URL,
    LOG_LEVEL: 'silent',
    STORE_TIMEZONE: 'Asia/Shanghai',
    STORE_NAME: '咖啡小店',
  });
  const app = await createContext(config, { log: pino({ level: 'silent' }), poolSize: Number(process.env.BENCH_POOL ?? 10) });
  let rssPeak = process.memoryUsage().rss;
  let heapPeak = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    rssPeak = Math.max(rssPeak, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed);
  }, 25);
  const rssAtStart = process.memoryUsage().rss;
  const runs: Record<string, unknown>[] = [];
  const pids = serverPids();
  const cpu0 = cpuSnapshot(pids);
  const t0 = performance.now();
  try {
    for (const kind of kinds) {
      const t = performance.now();
      const r = await runCampaignSweep(app.domain, {
        kind,
        date,
        now,
        collect: false,
        batchSize: Number(process.env.BENCH_BATCH ?? 500),
        concurrency: Number(process.env.BENCH_CONCURRENCY ?? 3),
      });
      runs.push({ kind, candidates: r.candidates, created: r.created, skipped: r.skipped, ms: Math.round(performance.now() - t) });
    }
  } finally {
    clearInterval(sampler);
  }
  const totalMs = Math.round(performance.now() - t0);
  const cpu1 = cpuSnapshot(pids);
  // % of one core over the sweep: ours, the servers', and everything else on the machine
  const pct = (k: string) => ((cpu1[k] - cpu0[k]) / (totalMs / 1000)) * 100;
  const cpu = { worker: pct('worker'), mariadb: pct('mariadb'), redis: pct('redis'), machine: pct('machine'), others: pct('machine') - pct('worker') - pct('mariadb') - pct('redis') };
  const m = process.memoryUsage();
  rssPeak = Math.max(rssPeak, m.rss);
  console.log(
    `RESULT ${JSON.stringify({ runs, totalMs, cpu, rssAtStartMb: rssAtStart / 2 ** 20, rssPeakMb: rssPeak / 2 ** 20, heapPeakMb: Math.max(heapPeak, m.heapUsed) / 2 ** 20, vmHwmMb: vmHwmMb() })}`,
  );
  await app.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
