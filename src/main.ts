// Entry point: validate config → create the database if needed → migrate (under a lock) →
// start web and/or worker by ROLE → shut down cleanly on SIGTERM/SIGINT.
import type http from 'node:http';
import { ConfigError, loadConfig } from '../config';
import { createContext } from './context';
import { createDataSource, ensureDatabase, migrate } from './platform/db';
import { createLogger } from './platform/logger';
import { startServer } from './server';
import { startWorker, type Worker } from './worker';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  for (const n of config.notices) log.warn(n);

  await ensureDatabase(config.databaseUrl);
  const migrator = createDataSource(config.databaseUrl, 2);
  await migrator.initialize();
  const applied = await migrate(migrator);
  await migrator.destroy();
  if (applied.length) log.info({ applied }, 'migrations applied');

  const app = await createContext(config, { log });
  let server: http.Server | null = null;
  let worker: Worker | null = null;
  if (config.role === 'all' || config.role === 'web') {
    server = await startServer(app);
    log.info({ port: config.port }, 'web listening');
  }
  if (config.role === 'all' || config.role === 'worker') {
    worker = startWorker(app);
    log.info('worker started');
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000).unref();
    if (server) await new Promise((r) => server!.close(() => r(undefined)));
    if (worker) await worker.stop();
    await app.close();
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
