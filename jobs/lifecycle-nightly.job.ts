// The nightly lifecycle job (a Bull repeatable job at 03:00 STORE_TIMEZONE; Bull runs each
// occurrence once across workers): stage transitions that time alone causes (active → dormant →
// churned, new → active) and RFM quintiles, in set-based SQL over indexed candidates
// (src/lifecycle.ts). Safe to run twice or late: the result depends only on the data and `now`.
import type { AppContext } from '../src/context';
import { runNightlyLifecycle, type NightlyResult } from '../src/customers/lifecycle';

export const LIFECYCLE_CRON = '0 3 * * *';
const JOB_ID = 'lifecycle-nightly';

export async function runLifecycleNightlyJob(app: AppContext): Promise<NightlyResult & { ms: number }> {
  const started = Date.now();
  const d = app.domain;
  const r = await runNightlyLifecycle(d.db, d.now(), d.lifecycle);
  app.metrics.jobsProcessed.inc({ queue: 'lifecycle' });
  const out = { ...r, ms: Date.now() - started };
  app.log.info(out, 'nightly lifecycle and RFM done');
  return out;
}

/** (Re)schedules the repeatable job, dropping a schedule left from another time zone; any number of workers may call it. */
export async function scheduleLifecycleNightly(app: AppContext): Promise<void> {
  const q = app.queues.lifecycle;
  const tz = app.config.storeTimezone;
  for (const r of await q.getRepeatableJobs()) {
    if (r.id === JOB_ID && (r.tz !== tz || r.cron !== LIFECYCLE_CRON)) await q.removeRepeatableByKey(r.key);
  }
  await q.add({}, { jobId: JOB_ID, repeat: { cron: LIFECYCLE_CRON, tz }, removeOnComplete: true, removeOnFail: 20 });
}

export async function registerLifecycleNightlyJob(app: AppContext): Promise<void> {
  void app.queues.lifecycle.process(1, () => runLifecycleNightlyJob(app));
  await scheduleLifecycleNightly(app);
}
