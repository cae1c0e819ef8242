// The daily campaign sweep for one kind and one store-local day:
//   candidates (indexed, paged) → already sent? (the idempotency key) → route (campaign channel order,
//   consent) → render (templates, coupon) → one transaction per batch: delivery rows (unique key),
//   a coupon only for a delivery this run created, the candidate ledger → enqueue, timed for sendAt.
// The key decides: a second sweep, or two at once, finds the rows the first made and sends nothing
// again. The contact policy (quiet hours, caps, consent once more) is applied when each is sent.
// A dry run goes as far as rendering and writes nothing.
import type { EntityManager } from 'typeorm';
import type { SendChannel } from '../../channels/channel';
import type { DeliveryContent } from '../sending/deliveries';
import { createDelivery } from '../sending/deliveries';
import { generateCouponCode, issueCoupons, type NewCoupon } from './coupons';
import type { Domain } from '../platform/domain';
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

interface Planned {
  c: Candidate;
  route: Extract<Route, { channel: string }>;
}

function decimalString(n: number): string {
  return n.toFixed(2);
}

/** '20.00' → '20', '12.50' → '12.5': how a value reads in a message. */
function displayValue(v: string): string {
  return String(Number(v));
}

/** A sweep asked for something that is not a day. */
export class SweepError extends Error {}

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

export async function runCampaignSweep(deps: Domain, opts: SweepOptions): Promise<SweepResult> {
  const started = Date.now();
  if (!isCalendarDate(opts.date)) throw new SweepError(`date must be a calendar day 'YYYY-MM-DD', not ${opts.date}`);
  const { db } = deps;
  const tz = deps.timeZone;
  const campaign = opts.campaign ?? (await getCampaign(db, opts.kind));
  const dryRun = Boolean(opts.dryRun);
  const outbound = deps.outbound;
  if (!dryRun && !outbound) throw new Error('a campaign sweep that writes needs the send queues (Domain.outbound)');
  const collect = opts.collect !== false;
  const batchSize = opts.batchSize ?? 500;
  const concurrency = Math.max(1, opts.concurrency ?? 3);
  const sendAt = zonedTime(opts.date, tz, campaign.sendAt);
  const delayMs = Math.max(0, sendAt.getTime() - opts.now.getTime());
  const window: SweepWindow = {
    kind: opts.kind,
    date: opts.date,
    asOf: zonedTime(addDays(opts.date, 1), tz),
    params: campaign.params,
    lifecycleDormantDays: deps.lifecycle.dormantDays,
  };
  // a coupon works through its last valid day (store time): validDays days counting the send day
  const coupon = campaign.coupon
    ? {
        value: decimalString(campaign.coupon.value),
        lastValidDay: addDays(opts.date, campaign.coupon.validDays - 1),
        expiresAt: zonedTime(addDays(opts.date, campaign.coupon.validDays), tz),
        prefix: campaign.coupon.prefix,
      }
    : null;

  const result: SweepResult = {
    kind: opts.kind,
    date: opts.date,
    dryRun,
    enabled: campaign.enabled,
    sendAt: sendAt.toISOString(),
    candidates: 0,
    created: 0,
    skipped: {},
    send: [],
    skip: [],
    ms: 0,
  };
  const skip = (s: SweepSkip) => {
    result.skipped[s.reason] = (result.skipped[s.reason] ?? 0) + 1;
    if (collect) result.skip.push(s);
  };

  const providerOf = (channel: CampaignChannel) => deps.adapters[channel]?.provider ?? channel;
  const staff = (route: Planned['route']) => (route.staffUserId ? { staffUserId: route.staffUserId } : {});

  const varsFor = (c: Candidate, code: string | null): TemplateVars => ({
    name: c.name,
    lastProduct: c.lastProduct,
    store: deps.storeName,
    coupon: coupon && code ? { code, value: displayValue(coupon.value), expiresAt: coupon.lastValidDay } : null,
  });

  /** The content for one planned send with this coupon code (null: no coupon rule). */
  const contentFor = (p: Planned, code: string | null): Preview => {
    const content: Preview = renderFor(campaign, p.route.channel, varsFor(p.c, code), deps.sending.smsSignName);
    if (p.route.channel === 'email') {
      const url = unsubscribeUrl(deps.sending.email, p.c.customerId);
      if (url) content.unsubscribeUrl = url;
    }
    if (p.route.channel === 'wecom') content.staffNote = staffNote(opts.kind, p.c, coupon ? displayValue(coupon.value) : null);
    if (coupon && code) content.coupon = { code, value: coupon.value, expiresAt: coupon.expiresAt.toISOString() };
    return content;
  };

  const processBatch = async (page: Candidate[]): Promise<void> => {
    result.candidates += page.length;
    const existing = new Map<string, string>();
    const rows: { id: string; idempotency_key: string }[] = await db.query(
      `SELECT id, idempotency_key FROM delivery WHERE idempotency_key IN (${page.map(() => '?').join(',')})`,
      page.map((c) => c.idempotencyKey),
    );
    for (const r of rows) existing.set(r.idempotency_key, String(r.id));
    const fresh = page.filter((c) => {
      const id = existing.get(c.idempotencyKey);
      if (id) skip({ customerId: c.customerId, idempotencyKey: c.idempotencyKey, reason: 'already_sent', deliveryId: id });
      return !id;
    });
    if (!fresh.length) return;
    // a channel whose sending is not configured is passed over, so the next one in the campaign's order is tried
    const routes = await routeDeliveries(db, fresh.map((c) => c.customerId), campaign.channels.filter((ch) => deps.adapters[ch]));
    const planned: Planned[] = [];
    const skippedHere: (SweepSkip & { c: Candidate })[] = [];
    for (const c of fresh) {
      const route = routes.get(c.customerId) ?? { skip: 'no_customer' as const };
      if ('skip' in route) {
        skippedHere.push({ c, customerId: c.customerId, idempotencyKey: c.idempotencyKey, reason: route.skip });
        continue;
      }
      const p = { c, route };
      try {
        // rendered once now (with a stand-in code) so a template that cannot render is a skip, not an error
        const preview = contentFor(p, coupon ? `${coupon.prefix}${PREVIEW_CODE_CHARS}` : null);
        if (dryRun) {
          result.created++;
          if (collect) result.send.push({ customerId: c.customerId, channel: route.channel, idempotencyKey: c.idempotencyKey, ...staff(route), preview });
          continue;
        }
        planned.push(p);
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        skippedHere.push({ c, customerId: c.customerId, idempotencyKey: c.idempotencyKey, reason: 'render_failed', detail: err.message });
      }
    }
    for (const { c: _c, ...s } of skippedHere) skip(s);
    if (dryRun) return;

    const now = opts.now;
    const created = await inTransaction(db, async (em: EntityManager) => {
      const made: { p: Planned; id: string; content: Preview }[] = [];
      const coupons: NewCoupon[] = [];
      const ledger: { c: Candidate; outcome: string; deliveryId: string | null }[] = [];
      for (const p of planned) {
        // codes are drawn inside the unit: a retry (deadlock, code collision) draws new ones
        const code = coupon ? generateCouponCode(coupon.prefix) : null;
        const content = contentFor(p, code);
        const d = await createDelivery(
          em,
          {
            customerId: p.c.customerId,
            channel: p.route.channel as SendChannel,
            provider: providerOf(p.route.channel),
            purpose: opts.kind,
            marketing: true,
            idempotencyKey: p.c.idempotencyKey,
            toAddress: p.route.toAddress,
            content,
            requestedBy: `campaign:${opts.kind}`,
            messageIdDomain: deps.sending.email.messageIdDomain ?? undefined,
            staffUserId: p.route.staffUserId ?? null,
            notBefore: sendAt,
          },
          now,
        );
        if (!d.created) {
          // another sweep made it between our check and this insert: theirs stands, with its coupon
          ledger.push({ c: p.c, outcome: 'already_sent', deliveryId: d.id });
          continue;
        }
        made.push({ p, id: d.id, content });
        ledger.push({ c: p.c, outcome: 'delivery', deliveryId: d.id });
        if (coupon && code) {
          coupons.push({ code, deliveryId: d.id, customerId: p.c.customerId, campaign: opts.kind, value: coupon.value, expiresAt: coupon.expiresAt, lastValidDay: coupon.lastValidDay });
        }
      }
      await issueCoupons(em, coupons, now);
      for (const s of skippedHere) ledger.push({ c: s.c, outcome: s.reason, deliveryId: null });
      await recordCandidates(em, opts.kind, opts.date, ledger.filter((l) => l.outcome !== 'already_sent'), now);
      return { made, raced: ledger.filter((l) => l.outcome === 'already_sent') };
    });
    for (const r of created.raced) skip({ customerId: r.c.customerId, idempotencyKey: r.c.idempotencyKey, reason: 'already_sent', deliveryId: r.deliveryId ?? undefined });
    await outbound!.enqueueDeliveries(created.made.map((m) => ({ id: m.id, channel: m.p.route.channel, provider: providerOf(m.p.route.channel), delayMs })));
    result.created += created.made.length;
    if (collect) {
      for (const m of created.made) {
        result.send.push({ customerId: m.p.c.customerId, channel: m.p.route.channel, idempotencyKey: m.p.c.idempotencyKey, ...staff(m.p.route), preview: m.content, deliveryId: m.id });
      }
    }
  };

  // pages are read one after another; up to `concurrency` of them are processed at once
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;
  for await (const page of CANDIDATE_SOURCES[opts.kind](db, window, batchSize)) {
    if (failure) break;
    const p = processBatch(page)
      .catch((err) => {
        failure ??= err;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  result.ms = Date.now() - started;
  deps.log.info({ kind: opts.kind, date: opts.date, dryRun, candidates: result.candidates, created: result.created, skipped: result.skipped, ms: result.ms }, 'campaign sweep done');
  return result;
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
