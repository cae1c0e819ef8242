// A worker in its own process, for tests that kill it mid-job. Config comes from the environment
// (the harness's test settings); prints "ready" once its processors are registered.
import pino from 'pino';
import { loadConfig } from '../../config';
import { createContext } from '../../src/context';
import { startWorker } from '../../src/worker';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await createContext(config, { log: pino({ level: 'silent' }), queueLockMs: Number(process.env.TEST_QUEUE_LOCK_MS ?? 30000) });
  startWorker(app, { concurrency: 1, sweep: false });
  process.stdout.write('ready\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
