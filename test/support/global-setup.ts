// Once per test run: this run's own database (fresh, every migration applied — the real
// migrations, not synchronize) and its own Redis db, both handed to the tests through the environment.
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import { createDataSource, ensureDatabase, migrate } from '../../src/platform/db';

const MYSQL_ROOT = process.env.TEST_MYSQL_ROOT_URL ?? 'mysql://root@127.0.0.1:3306';
const REDIS_ROOT = process.env.TEST_REDIS_ROOT_URL ?? 'redis://127.0.0.1:6379';
const SLOT_KEY = (n: number) => `touchpoint:test-redis-db:${n}`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Claims a Redis db 1..12 for this run (13-15 are left for runs that name their own) (a slot held by a dead process is taken over). */
async function claimRedisDb(): Promise<number> {
  const r = new Redis(`${REDIS_ROOT}/0`);
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      for (let n = 1; n <= 12; n++) {
        if ((await r.set(SLOT_KEY(n), String(process.pid), 'EX', 3600, 'NX')) === 'OK') return n;
        const owner = Number(await r.get(SLOT_KEY(n)));
        if (owner && !alive(owner)) await r.del(SLOT_KEY(n));
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
    throw new Error('no free Redis db for the tests (12 runs at once?)');
  } finally {
    r.disconnect();
  }
}

/** Drops test databases left by runs whose process is gone. */
async function dropStaleDatabases(): Promise<void> {
  const conn = await mysql.createConnection(MYSQL_ROOT);
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(`SHOW DATABASES LIKE 'touchpoint\\_test\\_run%'`);
    for (const row of rows) {
      const name = String(Object.values(row)[0]);
      const pid = Number(name.split('_').pop());
      if (pid && !alive(pid)) await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    }
  } finally {
    await conn.end();
  }
}

export default async function globalSetup(): Promise<void> {
  if (!process.env.TEST_DATABASE_URL) {
    await dropStaleDatabases();
    process.env.TEST_DATABASE_URL = `${MYSQL_ROOT}/touchpoint_test_run_${process.pid}`;
    process.env.TOUCHPOINT_TEST_OWNS_DATABASE = '1';
  }
  if (!process.env.TEST_REDIS_URL) {
    const n = await claimRedisDb();
    process.env.TEST_REDIS_URL = `${REDIS_ROOT}/${n}`;
    process.env.TOUCHPOINT_TEST_REDIS_SLOT = String(n);
  }
  const url = process.env.TEST_DATABASE_URL;
  await ensureDatabase(url);
  const ds = createDataSource(url, 2);
  await ds.initialize();
  const tables: { t: string }[] = await ds.query(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'`,
  );
  await ds.query('SET FOREIGN_KEY_CHECKS = 0');
  for (const { t } of tables) await ds.query(`DROP TABLE \`${t}\``);
  await ds.query('SET FOREIGN_KEY_CHECKS = 1');
  await migrate(ds);
  await ds.destroy();
}
