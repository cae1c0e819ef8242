// The worker role: Bull processors plus the inbox recovery sweep.
import { registerCampaignSweepJob } from '../jobs/campaign-sweep.job';
import { registerInboundEventJob } from '../jobs/inbound-event.job';
import { startInboxSweep } from '../jobs/inbox-sweep.job';
import { registerLifecycleNightlyJob } from '../jobs/lifecycle-nightly.job';
import { registerPayloadRetentionJob } from '../jobs/payload-retention.job';
import { registerSendDeliveryJob } from '../jobs/send-delivery.job';
import { registerWecomPollJob } from '../jobs/wecom-poll.job';
import { registerWelcomeJob } from '../jobs/welcome.job';
import type { AppContext } from './context';

export interface Worker {
  stop(): Promise<void>;
}

export function startWorker(app: AppContext, opts: { concurrency?: number; sweep?: boolean } = {}): Worker {
  registerInboundEventJob(app, opts.concurrency ?? 8);
  registerSendDeliveryJob(app, opts.concurrency ?? 8);
  registerCampaignSweepJob(app);
  registerLifecycleNightlyJob(app).catch((err) => app.log.error({ err }, 'could not schedule the nightly lifecycle job'));
  registerWecomPollJob(app);
  registerPayloadRetentionJob(app).catch((err) => app.log.error({ err }, 'could not schedule the inbound payload retention job'));
  registerWelcomeJob(app, opts.concurrency ?? 8);
  const stopSweep = opts.sweep === false ? () => {} : startInboxSweep(app);
  return {
    async stop() {
      stopSweep();
      await Promise.all(app.queues.all.map((q) => q.pause(true, true).catch(() => {})));
    },
  };
}
