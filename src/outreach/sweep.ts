// The daily campaign sweep for one kind and one store-local day:
//   plan (the day, sendAt, the coupon rule) → candidates (indexed, paged), then per page:
//   screen: already sent? (the idempotency key) → route (campaign channel order, consent) → render
//   (templates, coupon) → persist: one transaction per page: delivery rows (unique key), a coupon only
//   for a delivery this run created, the candidate ledger → enqueue, timed for sendAt.
// The key decides: a second sweep, or two at once, finds the rows the first made and sends nothing
// again. The contact policy (quiet hours, caps, consent once more) is applied when each is sent.
// A dry run goes as far as rendering and writes nothing.
import type { EntityManager } from 'typeorm';
import type { SendChannel } from '../../channels/channel';
import { createDelivery, deliveryIdsByKeys, type DeliveryContent, type NewDelivery } from '../sending/deliveries';
import { generateCouponCode, issueCoupons, type NewCoupon } from './coupons';
import type { Domain } from '../platform/domain';
import { Invalid } from '../platform/errors';
import { routeDeliveries, type Route } from './routing';
import { inTransaction } from '../platform/tx';
import { unsubscribeUrl } from '../consent/unsubscribe';
import { birthdayCandidates } from './birthday.campaign';
import { getCampaign, type CampaignChannel, type CampaignConfig, type SweepKind } from './campaigns';
import type { Candidate, CandidateSource, SweepWindow } from './candidates';
import { reorderCandidates } from './reorder.campaign';
import { addDays, isCalendarDate, zonedTime } from '../platform/store-time';
import { renderFor } from './render';
import { TemplateError, type TemplateVars } from './templates';
import { winbackCandidates } from './winback.campaign';

export const CANDIDATE_SOURCES: Record<SweepKind, CandidateSource> = {
  birthday: birthdayCandidates,
  reorder: reorderCandidates,
  winback: winbackCandidates,
};

export interface SweepOptions {
  kind: SweepKind;
  /** store-local day, 'YYYY-MM-DD' */
  date: string;
  now: Date;
  dryRun?: boolean;
  /** candidates per page / per transaction */
  batchSize?: number;
  /** batches in flight at once */
  concurrency?: number;
  /** keep every send and skip in the result (false: counts only, for big real runs) */
  collect?: boolean;
  /** the campaign's settings (default: as stored) */
  campaign?: CampaignConfig;
}

/** What a customer gets: the rendered content, with its coupon. */
export type Preview = DeliveryContent & { coupon?: { code: string; value: string; expiresAt: string } };

export interface SweepSend {
  customerId: string;
  channel: CampaignChannel;
  idempotencyKey: string;
  /** WeCom: the staff member who sends it */
  staffUserId?: string;
  preview: Preview;
  /** set by a real run */
  deliveryId?: string;
}

/** Reasons: already_sent, opted_out, no_address, no_channels, no_customer, render_failed. */
export interface SweepSkip {
  customerId: string;
  idempotencyKey: string;
  reason: string;
  deliveryId?: string;
  detail?: string;
}

export interface SweepResult {
  kind: SweepKind;
  date: string;
  dryRun: boolean;
  enabled: boolean;
  /** when the deliveries are due (sendAt on that day, store time) */
  sendAt: string;
  candidates: number;
  /** deliveries this run created (a dry run: would create) */
  created: number;
  skipped: Record<string, number>;
  send: SweepSend[];
  skip: SweepSkip[];
  ms: number;
}

const PREVIEW_CODE_CHARS = 'XXXXXXXXXX';

/** A candidate the sweep can reach, and how. */
interface Planned {
  c: Candidate;
  route: Extract<Route, { channel: string }>;
}

/** A candidate the sweep passes over this run, kept for the ledger. */
type Passed = SweepSkip & { c: Candidate };

/** A delivery this run created. */
interface Made {
  p: Planned;
  id: string;
  content: Preview;
}

/** Everything a run decides before it reads a candidate. */
interface SweepPlan {
  kind: SweepKind;
  date: string;
  now: Date;
  campaign: CampaignConfig;
  dryRun: boolean;
  collect: boolean;
  batchSize: number;
  concurrency: number;
  /** when the deliveries are due (sendAt on that day, store time), and how long their send jobs wait */
  sendAt: Date;
  delayMs: number;
  window: SweepWindow;
  /** the coupon each delivery carries (null: the campaign has no coupon rule) */
  coupon: { value: string; minSpend: string | null; lastValidDay: string; expiresAt: Date; prefix: string } | null;
}

function decimalString(n: number): string {
  return n.toFixed(2);
}

/** '20.00' → '20', '12.50' → '12.5': how a value reads in a message. */
function displayValue(v: string): string {
  return String(Number(v));
}

const pronoun = (gender: number | null) => (gender === 1 ? '他' : gender === 2 ? '她' : 'TA');

/** WeCom: why the staff member is asked to send this (their task card), e.g. "今天是王哥的生日 · 已为他准备 20 元券". */
export function staffNote(kind: SweepKind, c: Candidate, couponValue: string | null): string {
  const name = c.name?.replace(/\s+/g, ' ').trim().slice(0, 32) || '这位顾客';
  const why =
    kind === 'birthday'
      ? `今天是${name}的生日`
      : kind === 'reorder'
        ? `${name}常买的${c.lastProduct?.trim().slice(0, 40) || '商品'}该补货了`
        : `${name}已经很久没有来了`;
  return couponValue ? `${why} · 已为${pronoun(c.gender)}准备 ${couponValue} 元券` : why;
}

export async function runCampaignSweep(d: Domain, opts: SweepOptions): Promise<SweepResult> {
  const started = Date.now();
  const plan = await planSweep(d, opts);
  // checked before the first page, so a run that could not enqueue writes nothing
  if (!plan.dryRun && !d.outbound) throw new Error('a campaign sweep that writes needs the send queues (Domain.outbound)');
  const tally = new Tally(plan);
  await inPages(CANDIDATE_SOURCES[plan.kind](d.db, plan.window, plan.batchSize), plan.concurrency, (page) => processBatch(d, plan, tally, page));
  const result = tally.result;
  result.ms = Date.now() - started;
  d.log.info({ kind: plan.kind, date: plan.date, dryRun: plan.dryRun, candidates: result.candidates, created: result.created, skipped: result.skipped, ms: result.ms }, 'campaign sweep done');
  return result;
}

/** The day, the send time, the window the candidates are judged in, and the coupon rule. */
async function planSweep(d: Domain, opts: SweepOptions): Promise<SweepPlan> {
  if (!isCalendarDate(opts.date)) throw new Invalid('date', `must be a calendar day 'YYYY-MM-DD', not ${opts.date}`);
  const tz = d.timeZone;
  const campaign = opts.campaign ?? (await getCampaign(d.db, opts.kind));
  const sendAt = zonedTime(opts.date, tz, campaign.sendAt);
  return {
    kind: opts.kind,
    date: opts.date,
    now: opts.now,
    campaign,
    dryRun: Boolean(opts.dryRun),
    collect: opts.collect !== false,
    batchSize: opts.batchSize ?? 500,
    concurrency: Math.max(1, opts.concurrency ?? 3),
    sendAt,
    delayMs: Math.max(0, sendAt.getTime() - opts.now.getTime()),
    window: {
      kind: opts.kind,
      date: opts.date,
      asOf: zonedTime(addDays(opts.date, 1), tz),
      params: campaign.params,
      lifecycleDormantDays: d.lifecycle.dormantDays,
    },
    // a coupon works through its last valid day (store time): validDays days counting the send day
    coupon: campaign.coupon
      ? {
          value: decimalString(campaign.coupon.value),
          minSpend: campaign.coupon.minSpend === undefined ? null : decimalString(campaign.coupon.minSpend),
          lastValidDay: addDays(opts.date, campaign.coupon.validDays - 1),
          expiresAt: zonedTime(addDays(opts.date, campaign.coupon.validDays), tz),
          prefix: campaign.coupon.prefix,
        }
      : null,
  };
}

/** The run's result as it grows: counts always, each send and skip only when the caller collects them. */
class Tally {
  readonly result: SweepResult;
  private readonly collect: boolean;

  constructor(plan: SweepPlan) {
    this.collect = plan.collect;
    this.result = {
      kind: plan.kind,
      date: plan.date,
      dryRun: plan.dryRun,
      enabled: plan.campaign.enabled,
      sendAt: plan.sendAt.toISOString(),
      candidates: 0,
      created: 0,
      skipped: {},
      send: [],
      skip: [],
      ms: 0,
    };
  }

  skip(s: SweepSkip): void {
    this.result.skipped[s.reason] = (this.result.skipped[s.reason] ?? 0) + 1;
    if (this.collect) this.result.skip.push(s);
  }

  send(s: SweepSend): void {
    this.result.created++;
    if (this.collect) this.result.send.push(s);
  }
}

/** Pages are read one after another; up to `concurrency` of them are processed at once. The first failure stops the reading and is thrown once the rest settled. */
async function inPages<T>(pages: AsyncIterable<T>, concurrency: number, process: (page: T) => Promise<void>): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;
  for await (const page of pages) {
    if (failure) break;
    const p = process(page)
      .catch((err) => {
        failure ??= err;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
}

/** One page of candidates: screen (a dry run stops there) → persist → enqueue. */
async function processBatch(d: Domain, plan: SweepPlan, tally: Tally, page: Candidate[]): Promise<void> {
  tally.result.candidates += page.length;
  const { planned, passed } = await screenBatch(d, plan, tally, page);
  if (plan.dryRun || (!planned.length && !passed.length)) return;
  const { made, raced } = await persistBatch(d, plan, planned, passed);
  for (const r of raced) tally.skip({ customerId: r.c.customerId, idempotencyKey: r.c.idempotencyKey, reason: 'already_sent', deliveryId: r.deliveryId });
  await enqueueBatch(d, plan, made);
  for (const m of made) tally.send(sendOf(m.p, m.content, m.id));
}

/**
 * Which of a page's candidates get a delivery: not sent already (the idempotency key), reachable on a
 * channel the campaign lists, with a template that renders. Tallies the skips, and a dry run's sends.
 */
async function screenBatch(d: Domain, plan: SweepPlan, tally: Tally, page: Candidate[]): Promise<{ planned: Planned[]; passed: Passed[] }> {
  const fresh = await notSentYet(d, tally, page);
  if (!fresh.length) return { planned: [], passed: [] };
  // a channel whose sending is not configured is passed over, so the next one in the campaign's order is tried
  const routes = await routeDeliveries(d.db, fresh.map((c) => c.customerId), plan.campaign.channels.filter((ch) => d.adapters[ch]));
  const planned: Planned[] = [];
  const passed: Passed[] = [];
  for (const c of fresh) {
    const route = routes.get(c.customerId) ?? { skip: 'no_customer' as const };
    if ('skip' in route) {
      passed.push({ c, customerId: c.customerId, idempotencyKey: c.idempotencyKey, reason: route.skip });
      continue;
    }
    const p = { c, route };
    try {
      // rendered once now (with a stand-in code) so a template that cannot render is a skip, not an error
      const preview = contentFor(d, plan, p, plan.coupon ? `${plan.coupon.prefix}${PREVIEW_CODE_CHARS}` : null);
      if (plan.dryRun) tally.send(sendOf(p, preview));
      else planned.push(p);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      passed.push({ c, customerId: c.customerId, idempotencyKey: c.idempotencyKey, reason: 'render_failed', detail: err.message });
    }
  }
  for (const { c: _c, ...s } of passed) tally.skip(s);
  return { planned, passed };
}

/** The page's candidates with no delivery under their idempotency key yet; the others are skipped as already_sent. */
async function notSentYet(d: Domain, tally: Tally, page: Candidate[]): Promise<Candidate[]> {
  const existing = await deliveryIdsByKeys(d.db, page.map((c) => c.idempotencyKey));
  return page.filter((c) => {
    const id = existing.get(c.idempotencyKey);
    if (id) tally.skip({ customerId: c.customerId, idempotencyKey: c.idempotencyKey, reason: 'already_sent', deliveryId: id });
    return !id;
  });
}

/**
 * One transaction for the page: a delivery row per planned send (its unique key decides), a coupon
 * only with a delivery this run created, the candidate ledger. `raced`: rows another sweep made
 * between the screening and this insert.
 */
async function persistBatch(d: Domain, plan: SweepPlan, planned: Planned[], passed: Passed[]): Promise<{ made: Made[]; raced: { c: Candidate; deliveryId: string }[] }> {
  const { coupon, now } = plan;
  return inTransaction(d.db, async (em: EntityManager) => {
    const made: Made[] = [];
    const coupons: NewCoupon[] = [];
    const ledger: { c: Candidate; outcome: string; deliveryId: string | null }[] = [];
    const raced: { c: Candidate; deliveryId: string }[] = [];
    for (const p of planned) {
      // codes are drawn inside the unit: a retry (deadlock, code collision) draws new ones
      const code = coupon ? generateCouponCode(coupon.prefix) : null;
      const content = contentFor(d, plan, p, code);
      const row = await createDelivery(em, deliveryFor(d, plan, p, content), now);
      if (!row.created) {
        // another sweep made it between our check and this insert: theirs stands, with its coupon
        raced.push({ c: p.c, deliveryId: row.id });
        continue;
      }
      made.push({ p, id: row.id, content });
      ledger.push({ c: p.c, outcome: 'delivery', deliveryId: row.id });
      if (coupon && code) {
        coupons.push({ code, deliveryId: row.id, customerId: p.c.customerId, campaign: plan.kind, value: coupon.value, minSpend: coupon.minSpend, expiresAt: coupon.expiresAt, lastValidDay: coupon.lastValidDay });
      }
    }
    await issueCoupons(em, coupons, now);
    for (const s of passed) ledger.push({ c: s.c, outcome: s.reason, deliveryId: null });
    await recordCandidates(em, plan.kind, plan.date, ledger, now);
    return { made, raced };
  });
}

/** Hands the page's new deliveries to their send queues, due at sendAt. */
async function enqueueBatch(d: Domain, plan: SweepPlan, made: Made[]): Promise<void> {
  // d.outbound was checked before the first page
  await d.outbound!.enqueueDeliveries(made.map((m) => ({ id: m.id, channel: m.p.route.channel, provider: providerOf(d, m.p.route.channel), delayMs: plan.delayMs })));
}

const providerOf = (d: Domain, channel: CampaignChannel) => d.adapters[channel]?.provider ?? channel;

/** The delivery row for one planned send. */
function deliveryFor(d: Domain, plan: SweepPlan, p: Planned, content: Preview): NewDelivery {
  return {
    customerId: p.c.customerId,
    channel: p.route.channel as SendChannel,
    provider: providerOf(d, p.route.channel),
    purpose: plan.kind,
    marketing: true,
    idempotencyKey: p.c.idempotencyKey,
    toAddress: p.route.toAddress,
    content,
    requestedBy: `campaign:${plan.kind}`,
    messageIdDomain: d.sending.email.messageIdDomain ?? undefined,
    staffUserId: p.route.staffUserId ?? null,
    notBefore: plan.sendAt,
  };
}

/** The content for one planned send with this coupon code (null: no coupon rule). */
function contentFor(d: Domain, plan: SweepPlan, p: Planned, code: string | null): Preview {
  const { coupon } = plan;
  const vars: TemplateVars = {
    name: p.c.name,
    lastProduct: p.c.lastProduct,
    store: d.storeName,
    coupon: coupon && code ? { code, value: displayValue(coupon.value), expiresAt: coupon.lastValidDay } : null,
  };
  const content: Preview = renderFor(plan.campaign, p.route.channel, vars, d.sending.smsSignName);
  if (p.route.channel === 'email') {
    const url = unsubscribeUrl(d.sending.email, p.c.customerId);
    if (url) content.unsubscribeUrl = url;
  }
  if (p.route.channel === 'wecom') content.staffNote = staffNote(plan.kind, p.c, coupon ? displayValue(coupon.value) : null);
  if (coupon && code) content.coupon = { code, value: coupon.value, expiresAt: coupon.expiresAt.toISOString() };
  return content;
}

function sendOf(p: Planned, preview: Preview, deliveryId?: string): SweepSend {
  const { c, route } = p;
  return {
    customerId: c.customerId,
    channel: route.channel,
    idempotencyKey: c.idempotencyKey,
    ...(route.staffUserId ? { staffUserId: route.staffUserId } : {}),
    preview,
    ...(deliveryId ? { deliveryId } : {}),
  };
}

/**
 * The candidate ledger (report: candidates and skips): one row per idempotency key, first sweep day
 * kept; a skip is overwritten by a later outcome, a delivery never is.
 */
async function recordCandidates(em: EntityManager, kind: SweepKind, date: string, rows: { c: Candidate; outcome: string; deliveryId: string | null }[], now: Date): Promise<void> {
  if (!rows.length) return;
  await em.query(
    `INSERT INTO campaign_candidate (idempotency_key, campaign, customer_id, sweep_date, outcome, delivery_id, created_at, updated_at)
     VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(',')}
     ON DUPLICATE KEY UPDATE
       outcome = IF(delivery_id IS NULL, VALUES(outcome), outcome),
       updated_at = IF(delivery_id IS NULL, VALUES(updated_at), updated_at),
       delivery_id = COALESCE(delivery_id, VALUES(delivery_id))`,
    rows.flatMap((r) => [r.c.idempotencyKey, kind, r.c.customerId, date, r.outcome, r.deliveryId, now, now]),
  );
}
