// The worker role: Bull processors plus the inbox recovery sweep.
import { registerInboundEventJob } from '../jobs/inbound-event.job';
import { startInboxSweep } from '../jobs/inbox-sweep.job';
import { registerSendDeliveryJob } from '../jobs/send-delivery.job';
import { registerWecomPollJob } from '../jobs/wecom-poll.job';
import type { AppContext } from './context';

export interface Worker {
  stop(): Promise<void>;
}

export function startWorker(app: AppContext, opts: { concurrency?: number; sweep?: boolean } = {}): Worker {
  registerInboundEventJob(app, opts.concurrency ?? 8);
  registerSendDeliveryJob(app, opts.concurrency ?? 8);
  registerWecomPollJob(app);
  const stopSweep = opts.sweep === false ? () => {} : startInboxSweep(app);
  return {
    async stop() {
      stopSweep();
      await Promise.all(app.queues.all.map((q) => q.pause(true, true).catch(() => {})));
    },
  };
}
