// Sends one delivery (job id = `delivery:<id>`, on its channel's queue: send-sms, send-email, send-wecom):
// the contact policy checked now → provider adapter → row updated. Transient provider errors throw so
// Bull retries (exponential backoff with jitter; a WeCom 45009 waits out its window); permanent ones,
// and the last attempt, end the row `failed`. A send due in quiet hours completes as `waiting` and the
// job queues the delivery again, delayed to the window's start. Running it twice sends once: only a
// `queued` row is sent.
import type { Job } from 'bull';
import type { AppContext } from '../src/context';
import { deliver, type SendOutcome } from '../src/sending/deliveries';
import { SEND_CHANNELS, type SendJobData } from '../src/platform/queues';

/**
 * What to do once Bull has completed a job, recorded by the job itself.
 *
 * A delivery waiting out quiet hours needs a new delayed job under the same id, `delivery:<id>`. Bull
 * adds nothing under an id that still exists, and the running job exists until Bull has completed it
 * (removeOnComplete deletes it then), so the new job can only be added after that. Bull 4 cannot
 * re-schedule a running job instead: `job.moveToDelayed` inside the processor takes the job out of the
 * active list (and drops its lock), so the completion Bull runs when the processor returns fails, and
 * its failure path then tries to re-delay the job by the retry backoff, counting an attempt; the job
 * would also keep its old `opts.delay` and attempt count instead of starting afresh.
 *
 * So the processor decides here, keyed by its Job object (a weak map: nothing outlives the job), and
 * the queue's `completed` event, which this process emits right after the job left Redis, carries it
 * out. If the process dies in between, the inbox sweep re-queues the delivery once its not_before has
 * passed.
 */
const afterCompletion = new WeakMap<Job, () => Promise<void>>();

export async function runSendDeliveryJob(app: AppContext, job: Job<SendJobData>): Promise<SendOutcome> {
  const { deliveryId } = job.data;
  const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  const queue = `send-${job.queue?.name ?? 'send'}`;
  try {
    const report = await deliver(app.domain, deliveryId, final);
    app.metrics.jobsProcessed.inc({ queue: 'send' });
    // the new job reads the row's not_before (just set to the window's start) for its delay
    if (report.waitUntil) afterCompletion.set(job, () => app.enqueueSend(deliveryId));
    return report.outcome;
  } catch (err) {
    app.metrics.jobsFailed.inc({ queue: 'send', final: String(final) });
    app.log.warn({ deliveryId, queue, attempt: job.attemptsMade + 1, error: (err as Error).message }, 'send failed; will retry');
    throw err;
  }
}

export function registerSendDeliveryJob(app: AppContext, concurrency: number): void {
  for (const channel of SEND_CHANNELS) {
    const q = app.queues.send[channel];
    q.on('completed', (job: Job<SendJobData>) => {
      const then = afterCompletion.get(job);
      if (!then) return;
      afterCompletion.delete(job);
      then().catch((err) => app.log.error({ err, deliveryId: job.data.deliveryId }, 'could not re-queue a waiting delivery (the inbox sweep will)'));
    });
    void q.process(concurrency, (job) => runSendDeliveryJob(app, job));
  }
}
