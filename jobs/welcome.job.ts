// Sends one WeCom welcome (job id `welcome:<event id>`, queue wecom-welcome, high priority): waits for
// the inbound job to have stored the contact, makes the welcome delivery (src/welcome.ts), sends it at
// once through the normal send path (consent; 41051 → suppressed, 41050 → failed, neither retried).
// Safe to run twice: the delivery is one row per event and only a queued row is sent.
import type { Job } from 'bull';
import type { AppContext } from '../src/context';
import { deliver } from '../src/sending/deliveries';
import type { WelcomeJobData } from '../src/platform/queues';
import { prepareWelcome } from '../src/outreach/welcome';

export async function runWelcomeJob(app: AppContext, job: Job<WelcomeJobData>): Promise<string> {
  const plan = await prepareWelcome(app.domain, job.data);
  if ('skip' in plan) {
    if (plan.skip === 'contact_not_stored') app.log.warn({ eventId: job.data.eventId }, 'welcome not sent: the contact was not stored in time');
    return plan.skip;
  }
  const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  const report = await deliver(app.domain, plan.deliveryId, final);
  app.metrics.jobsProcessed.inc({ queue: 'wecom-welcome' });
  return report.outcome;
}

export function registerWelcomeJob(app: AppContext, concurrency: number): void {
  void app.queues.welcome.process(concurrency, (job) => runWelcomeJob(app, job));
}
