// Migrations: several instances starting at once apply each migration exactly once.
import mysql from 'mysql2/promise';
import { MIGRATIONS } from '../../entities';
import { createDataSource, ensureDatabase, migrate } from '../../src/platform/db';
import { TEST_DATABASE_URL } from '../support/env';

describe('migrate()', () => {
  const url = new URL(TEST_DATABASE_URL);
  const name = `${url.pathname.slice(1)}_mig`;
  url.pathname = `/${name}`;

  afterAll(async () => {
    const root = new URL(url.toString());
    root.pathname = '/';
    const conn = await mysql.createConnection(root.toString());
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await conn.end();
  });

  it('three instances starting at once: every migration applied once, the others wait and find nothing to do', async () => {
    await ensureDatabase(url.toString());
    const sources = [0, 1, 2].map(() => createDataSource(url.toString(), 2));
    await Promise.all(sources.map((s) => s.initialize()));
    try {
      const applied = await Promise.all(sources.map((s) => migrate(s)));
      expect(applied.flat().sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
      const rows = await sources[0].query('SELECT name FROM migrations ORDER BY id');
      expect(rows.map((r: { name: string }) => r.name)).toEqual(MIGRATIONS.map((m) => new m().name));
      // utf8mb4 end to end: Chinese and emoji survive
      const [{ id }] = await sources[0].query(`SELECT 1 AS id`);
      expect(id).toBe(1);
      await sources[0].query(`INSERT INTO customer (name, first_seen_at, created_at, updated_at) VALUES ('王哥☕🎂', NOW(3), NOW(3), NOW(3))`);
      const [c] = await sources[1].query(`SELECT name FROM customer`);
      expect(c.name).toBe('王哥☕🎂');
    } finally {
      await Promise.all(sources.map((s) => s.destroy()));
    }
  });
});
