// The daily campaign sweep (a Bull repeatable job per enabled campaign, at its sendAt in
// STORE_TIMEZONE): sweeps the store-local day the job was scheduled for — a job that runs late (a
// worker was down) still sweeps its own day. Safe to run twice or on two workers at once: every
// delivery has its idempotency key, and coupons are issued only with deliveries this run created.
import type { Job } from 'bull';
import type { AppContext } from '../src/context';
import { getCampaign } from '../src/outreach/campaigns';
import { syncCampaignSchedules } from '../src/outreach/schedule';
import { localDate } from '../src/platform/store-time';
import { runCampaignSweep } from '../src/outreach/sweep';
import type { CampaignSweepJobData } from '../src/platform/queues';

export async function runCampaignSweepJob(app: AppContext, job: Job<CampaignSweepJobData>): Promise<Record<string, unknown>> {
  const { kind } = job.data;
  const campaign = await getCampaign(app.db, kind);
  if (!campaign.enabled) return { kind, skipped: 'disabled' };
  const due = new Date(job.timestamp + (job.opts.delay ?? 0));
  const date = localDate(due, app.config.storeTimezone);
  const r = await runCampaignSweep(app.domain, { kind, date, now: app.now(), campaign, collect: false });
  app.metrics.jobsProcessed.inc({ queue: 'campaigns' });
  return { kind, date, candidates: r.candidates, created: r.created, skipped: r.skipped, ms: r.ms };
}

export function registerCampaignSweepJob(app: AppContext): void {
  void app.queues.campaigns.process(1, (job) => runCampaignSweepJob(app, job));
  syncCampaignSchedules(app.db, app.queues.campaigns, app.config.storeTimezone).catch((err) => app.log.error({ err }, 'could not schedule the campaign sweeps'));
}
