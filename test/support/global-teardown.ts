// Once per test run: drop this run's database and give back its Redis db.
import Redis from 'ioredis';
import mysql from 'mysql2/promise';

export default async function globalTeardown(): Promise<void> {
  const url = process.env.TEST_DATABASE_URL;
  if (url && process.env.TOUCHPOINT_TEST_OWNS_DATABASE === '1') {
    const u = new URL(url);
    const name = u.pathname.slice(1);
    u.pathname = '/';
    const conn = await mysql.createConnection(u.toString());
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``).finally(() => conn.end());
  }
  const slot = process.env.TOUCHPOINT_TEST_REDIS_SLOT;
  if (slot && process.env.TEST_REDIS_URL) {
    const r = new Redis(process.env.TEST_REDIS_URL);
    await r.flushdb();
    r.disconnect();
    const r0 = new Redis(`${process.env.TEST_REDIS_ROOT_URL ?? 'redis://127.0.0.1:6379'}/0`);
    await r0.del(`touchpoint:test-redis-db:${slot}`);
    r0.disconnect();
  }
}
