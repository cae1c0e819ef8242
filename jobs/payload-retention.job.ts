// The daily retention job (a Bull repeatable job at 04:00 STORE_TIMEZONE; Bull runs each occurrence
// once across workers): deletes raw inbound payloads received more than INBOUND_PAYLOAD_RETENTION_DAYS
// ago, in chunks (src/inbox/inbox.ts deleteInboundEventsBefore). The timeline, orders and consents
// parsed from them stay. Safe to run twice or late: it only deletes what is past the line.
import type { AppContext } from '../src/context';
import { deleteInboundEventsBefore } from '../src/inbox/inbox';

export const RETENTION_CRON = '0 4 * * *';
const JOB_ID = 'inbound-payload-retention';
const CHUNK = 5000;
const DAY_MS = 24 * 3600_000;

export async function runPayloadRetentionJob(app: AppContext): Promise<{ deleted: number; before: string }> {
  const before = new Date(app.now().getTime() - app.config.inbox.payloadRetentionDays * DAY_MS);
  let deleted = 0;
  for (;;) {
    const n = await deleteInboundEventsBefore(app.db, before, CHUNK);
    deleted += n;
    if (n < CHUNK) break;
  }
  app.metrics.jobsProcessed.inc({ queue: 'retention' });
  app.log.info({ deleted, before: before.toISOString() }, 'inbound payloads past retention deleted');
  return { deleted, before: before.toISOString() };
}

export async function registerPayloadRetentionJob(app: AppContext): Promise<void> {
  const q = app.queues.retention;
  void q.process(1, () => runPayloadRetentionJob(app));
  const tz = app.config.storeTimezone;
  for (const r of await q.getRepeatableJobs()) {
    if (r.id === JOB_ID && (r.tz !== tz || r.cron !== RETENTION_CRON)) await q.removeRepeatableByKey(r.key);
  }
  await q.add({}, { jobId: JOB_ID, repeat: { cron: RETENTION_CRON, tz }, removeOnComplete: true, removeOnFail: 20 });
}
