// Keeps one Bull repeatable job per enabled sweep campaign, at its sendAt in STORE_TIMEZONE (cron with
// tz), and none for a disabled one. Run when a worker starts and after each PUT /api/campaigns/:kind.
// The queue is passed in by its few methods, so the domain does not depend on Bull.
import type { DataSource } from 'typeorm';
import { getCampaign, SWEEP_KINDS, type SweepKind } from './campaigns';

export interface RepeatableQueue {
  add(data: { kind: SweepKind }, opts: { jobId: string; repeat: { cron: string; tz: string }; removeOnComplete: boolean | number; removeOnFail: boolean | number }): Promise<unknown>;
  getRepeatableJobs(): Promise<{ key: string; id?: string | null; cron?: string | null; tz?: string | null }[]>;
  removeRepeatableByKey(key: string): Promise<unknown>;
}

// no ':' in it: Bull splits repeatable-job keys on ':'
export const sweepJobId = (kind: SweepKind) => `campaign-sweep-${kind}`;

/** 'HH:mm' → a daily cron expression. */
export function dailyCron(sendAt: string): string {
  const [hh, mm] = sendAt.split(':').map(Number);
  return `${mm} ${hh} * * *`;
}

export async function syncCampaignSchedules(db: DataSource, queue: RepeatableQueue, tz: string, kinds: SweepKind[] = SWEEP_KINDS): Promise<{ kind: SweepKind; cron: string | null }[]> {
  const existing = await queue.getRepeatableJobs();
  const out: { kind: SweepKind; cron: string | null }[] = [];
  for (const kind of kinds) {
    const campaign = await getCampaign(db, kind);
    const want = campaign.enabled ? dailyCron(campaign.sendAt) : null;
    const mine = existing.filter((r) => r.id === sweepJobId(kind));
    for (const r of mine) if (!want || r.cron !== want || r.tz !== tz) await queue.removeRepeatableByKey(r.key);
    if (want && !mine.some((r) => r.cron === want && r.tz === tz)) {
      await queue.add({ kind }, { jobId: sweepJobId(kind), repeat: { cron: want, tz }, removeOnComplete: true, removeOnFail: 20 });
    }
    out.push({ kind, cron: want });
  }
  return out;
}
