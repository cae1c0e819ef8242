// Sends one delivery (job id = `delivery:<id>`): consent checked now → provider adapter → row updated.
// Transient provider errors throw so Bull retries with jittered backoff; permanent ones, and the
// last attempt, end the row `failed`. Running it twice sends once: only a `queued` row is sent.
import type { Job } from 'bull';
import type { AppContext } from '../src/context';
import { sendDelivery } from '../src/deliveries';
import type { SendJobData } from '../src/queues';

export async function runSendDeliveryJob(app: AppContext, job: Job<SendJobData>): Promise<string> {
  const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  try {
    const outcome = await sendDelivery({ db: app.db, adapters: app.adapters, now: app.now }, job.data.deliveryId, final);
    app.metrics.jobsProcessed.inc({ queue: 'send' });
    return outcome;
  } catch (err) {
    app.metrics.jobsFailed.inc({ queue: 'send', final: String(final) });
    app.log.warn({ deliveryId: job.data.deliveryId, attempt: job.attemptsMade + 1, error: (err as Error).message }, 'send failed; will retry');
    throw err;
  }
}

export function registerSendDeliveryJob(app: AppContext, concurrency: number): void {
  void app.queues.send.process(concurrency, (job) => runSendDeliveryJob(app, job));
}
