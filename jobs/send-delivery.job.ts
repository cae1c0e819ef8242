// Sends one delivery (job id = `delivery:<id>`, on its channel's queue: send-sms, send-email, send-wecom):
// the contact policy checked now → provider adapter → row updated. Transient provider errors throw so
// Bull retries (exponential backoff with jitter; a WeCom 45009 waits out its window); permanent ones,
// and the last attempt, end the row `failed`. A send due in quiet hours completes as `waiting` and is
// queued again, delayed to the window's start. Running it twice sends once: only a `queued` row is sent.
import type { Job } from 'bull';
import type { AppContext } from '../src/context';
import { deliver } from '../src/sending/deliveries';
import { SEND_CHANNELS, type SendJobData } from '../src/platform/queues';

const WAITING = 'waiting:';

export async function runSendDeliveryJob(app: AppContext, job: Job<SendJobData>): Promise<string> {
  const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  const queue = `send-${job.queue?.name ?? 'send'}`;
  try {
    const report = await deliver(app.domain, job.data.deliveryId, final);
    app.metrics.jobsProcessed.inc({ queue: 'send' });
    return report.waitUntil ? `${WAITING}${report.waitUntil.toISOString()}` : report.outcome;
  } catch (err) {
    app.metrics.jobsFailed.inc({ queue: 'send', final: String(final) });
    app.log.warn({ deliveryId: job.data.deliveryId, queue, attempt: job.attemptsMade + 1, error: (err as Error).message }, 'send failed; will retry');
    throw err;
  }
}

export function registerSendDeliveryJob(app: AppContext, concurrency: number): void {
  for (const channel of SEND_CHANNELS) {
    const q = app.queues.send[channel];
    // the job that made a delivery wait is gone once completed: queue the delivery again, due at its not_before
    q.on('completed', (job: Job<SendJobData>, result: unknown) => {
      if (typeof result === 'string' && result.startsWith(WAITING)) {
        app.enqueueSend(job.data.deliveryId).catch((err) => app.log.error({ err, deliveryId: job.data.deliveryId }, 'could not re-queue a waiting delivery (the inbox sweep will)'));
      }
    });
    void q.process(concurrency, (job) => runSendDeliveryJob(app, job));
  }
}
