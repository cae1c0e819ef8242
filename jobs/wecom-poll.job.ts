// Every WECOM_POLL_INTERVAL_SECONDS (a Bull repeatable job: one run at a time across workers):
// asks WeCom what became of the mass-message tasks still `sent` and records delivered/failed on
// their delivery rows (src/wecom/mass-task-results.ts). Safe to run twice: only `sent` rows move.
import type { AppContext } from '../src/context';
import { pollMassTaskResults, type TaskPollResult } from '../src/sending/wecom-task-results';

export async function runWecomPollJob(app: AppContext): Promise<TaskPollResult> {
  const result = await pollMassTaskResults(app.domain, app.now(), { maxAgeHours: app.config.sending.wecomPollMaxAgeHours });
  app.metrics.jobsProcessed.inc({ queue: 'wecom-poll' });
  if (result.delivered || result.failed) app.log.info(result, 'WeCom task results recorded');
  return result;
}

export function registerWecomPollJob(app: AppContext): void {
  if (!app.wecom?.contact) return;
  void app.queues.wecomPoll.process(1, () => runWecomPollJob(app));
  app.queues.wecomPoll
    .add({}, { jobId: 'wecom-poll', repeat: { every: app.config.sending.wecomPollIntervalSeconds * 1000 }, removeOnComplete: true, removeOnFail: true })
    .catch((err) => app.log.error({ err }, 'could not schedule the WeCom task poll'));
}
