// Once per test run: a fresh test database with every migration applied (the real migrations, not synchronize).
import { createDataSource, ensureDatabase, migrate } from '../../src/db';
import { TEST_DATABASE_URL } from './env';

export default async function globalSetup(): Promise<void> {
  await ensureDatabase(TEST_DATABASE_URL);
  const ds = createDataSource(TEST_DATABASE_URL, 2);
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
