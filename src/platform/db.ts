// The MySQL connection and schema migrations (applied under a named lock so any number of
// instances can start at once).
import 'reflect-metadata';
import mysql from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { ENTITIES, MIGRATIONS } from '../../entities';

export function createDataSource(databaseUrl: string, poolSize = 20): DataSource {
  return new DataSource({
    type: 'mysql',
    connectorPackage: 'mysql2',
    url: databaseUrl,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    poolSize,
    extra: { connectionLimit: poolSize, enableKeepAlive: true },
  });
}

/** Creates the database named in the URL when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL must name a database');
  if (!/^[A-Za-z0-9_$-]+$/.test(name)) throw new Error(`DATABASE_URL database name "${name}" has characters we will not quote`);
  const conn = await mysql.createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await conn.end();
  }
}

/** Runs pending migrations while holding a MySQL named lock, so concurrent starts apply them once. */
export async function migrate(ds: DataSource, lockTimeoutSeconds = 120): Promise<string[]> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    const [row] = await runner.query(`SELECT GET_LOCK('touchpoint:migrations', ?) AS got`, [lockTimeoutSeconds]);
    if (Number(row?.got) !== 1) throw new Error('could not take the migration lock (another instance is migrating?)');
    try {
      const done = await ds.runMigrations({ transaction: 'each' });
      return done.map((m) => m.name);
    } finally {
      await runner.query(`SELECT RELEASE_LOCK('touchpoint:migrations')`);
    }
  } finally {
    await runner.release();
  }
}

/** True for MySQL's duplicate-key error. */
export function isDuplicateKey(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string } };
  return e?.code === 'ER_DUP_ENTRY' || e?.driverError?.code === 'ER_DUP_ENTRY';
}
