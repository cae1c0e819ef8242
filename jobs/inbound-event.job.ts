// Processes one stored inbound event (job id = event id): runs its handler, marks it processed;
// on error records it on the event and lets Bull retry with backoff, or marks it failed when
// no attempt is left or the error is permanent. Safe to run twice: handlers are idempotent.
import type { Job } from 'bull';
import type { AppContext } from '../src/context';
import { PermanentError } from '../src/platform/errors';
import { processInboundEvent } from '../src/inbox/inbound-processor';
import type { InboundJobData } from '../src/platform/queues';

export async function runInboundEventJob(ctx: AppContext, job: Job<InboundJobData>): Promise<string> {
  const { eventId } = job.data;
  try {
    const outcome = await processInboundEvent(ctx.domain, ctx.inbox, eventId);
    ctx.metrics.jobsProcessed.inc({ queue: 'inbound' });
    ctx.log.debug({ eventId, outcome }, 'inbound event done');
    return outcome;
  } catch (err) {
    const permanent = err instanceof PermanentError;
    const final = permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    await ctx.inbox.markError(eventId, message, final).catch((e) => ctx.log.error({ err: e, eventId }, 'could not record the job error'));
    ctx.metrics.jobsFailed.inc({ queue: 'inbound', final: String(final) });
    ctx.log.warn({ eventId, attempt: job.attemptsMade + 1, final, error: message }, 'inbound event failed');
    if (permanent) await job.discard();
    throw err;
  }
}

export function registerInboundEventJob(ctx: AppContext, concurrency: number): void {
  void ctx.queues.inbound.process(concurrency, (job) => runInboundEventJob(ctx, job));
}
