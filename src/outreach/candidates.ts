// What every campaign's candidate query yields: one customer, the delivery's idempotency key, and
// what the templates may say about them. Candidate queries page through an index in batches.
import type { DataSource } from 'typeorm';
import type { CampaignConfig, SweepKind } from './campaigns';

export interface Candidate {
  customerId: string;
  name: string | null;
  /** WeCom: 0 unknown, 1 male, 2 female (the staff note says 他/她/TA) */
  gender: number | null;
  lastProduct: string | null;
  idempotencyKey: string;
}

export interface SweepWindow {
  kind: SweepKind;
  /** the store-local day swept, 'YYYY-MM-DD' */
  date: string;
  /** the end of that day (start of the next, store time): thresholds are judged at this instant */
  asOf: Date;
  params: CampaignConfig['params'];
  /** the lifecycle's DORMANT_DAYS: dormant_since = last activity + this */
  lifecycleDormantDays: number;
}

export type CandidateSource = (db: DataSource, w: SweepWindow, batch: number) => AsyncGenerator<Candidate[]>;

export const DAY_MS = 86_400_000;

/**
 * How far back reorder and win-back look for thresholds crossed on earlier days that no sweep
 * caught (sweeps missed, a campaign switched on): a customer overdue or dormant for longer than this
 * is not contacted by the daily sweep. Keeps each day's work proportional to that day's newcomers.
 */
export const CATCH_UP_DAYS = 30;
