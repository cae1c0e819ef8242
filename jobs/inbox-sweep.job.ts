// The recovery sweep: every INBOX_SWEEP_INTERVAL_SECONDS one worker (a Redis lock picks it)
// re-enqueues events still `received` (and deliveries still `queued`) after INBOX_STALE_AFTER_SECONDS — a crash between commit
// and enqueue, or a Redis that lost its jobs. Job id = event id, so a job still queued is not doubled.
// It runs on a timer in every worker rather than as a Bull repeatable job, so flushing Redis cannot switch it off.
import { randomUUID } from 'node:crypto';
import type { AppContext } from '../src/context';
import { staleQueuedDeliveries } from '../src/sending/deliveries';

export async function sweepInbox(ctx: AppContext, batch = 1000): Promise<number> {
  const olderThan = new Date(ctx.now().getTime() - ctx.config.inbox.staleAfterSeconds * 1000);
  let afterId = '0';
  let total = 0;
  for (;;) {
    const ids = await ctx.inbox.unprocessedBefore(olderThan, batch, afterId);
    if (!ids.length) break;
    await Promise.all(ids.map((id) => ctx.enqueueInbound(id)));
    total += ids.length;
    afterId = ids[ids.length - 1];
    if (ids.length < batch) break;
  }
  // deliveries still queued whose send job was lost (Redis flushed); a job still waiting is not doubled.
  // One waiting out quiet hours has its delayed job: it is looked at again once its not_before has passed.
  const queued = await staleQueuedDeliveries(ctx.db, olderThan, ctx.now(), batch);
  for (const id of queued) await ctx.enqueueSend(id);
  if (total || queued.length) ctx.log.info({ requeuedEvents: total, requeuedDeliveries: queued.length }, 'inbox sweep re-enqueued unprocessed work');
  return total + queued.length;
}

/** Starts the periodic sweep; returns a function that stops it. */
export function startInboxSweep(ctx: AppContext): () => void {
  const intervalMs = ctx.config.inbox.sweepIntervalSeconds * 1000;
  const me = randomUUID();
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const got = await ctx.redis.set('touchpoint:inbox-sweep:lock', me, 'PX', Math.max(1000, intervalMs - 100), 'NX');
      if (got === 'OK') await sweepInbox(ctx);
    } catch (err) {
      ctx.log.error({ err }, 'inbox sweep failed');
    } finally {
      running = false;
    }
  };
  void tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
