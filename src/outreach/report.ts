// GET /api/reports/campaigns: per campaign, over store-local days [from, to]:
//   candidates   customers a real sweep considered (campaign_candidate, by sweep day; welcome: its deliveries)
//   deliveries   delivery rows created in the period, and of those: queued (not sent yet), sent (sent or
//                delivered), delivered, failed
//   suppressed   by reason: skipped by the sweep (no_address, opted_out, …: the candidate ledger) plus
//                deliveries the contact policy suppressed at send time (their error_code)
//   coupons      issued with those deliveries, and how many were redeemed
//   orders / revenue attributed to those deliveries. Attribution, one delivery per order:
//     1. coupon — the order redeemed the delivery's coupon (shop_order.attributed_delivery_id), whenever
//        within the coupon's validity it was placed;
//     2. otherwise window — the order was placed by the same customer within ATTRIBUTION_DAYS after a
//        campaign delivery was sent (status sent/delivered); if several qualify, the latest sent
//        before the order wins (last touch), so no order counts twice.
import type { DataSource } from 'typeorm';
import { CAMPAIGN_KINDS, type CampaignKind } from './campaigns';
import { addDays, zonedTime } from '../platform/store-time';

export const ATTRIBUTION_DAYS = 14;

export interface CampaignReportRow {
  campaign: CampaignKind;
  candidates: number;
  deliveries: number;
  queued: number;
  sent: number;
  delivered: number;
  failed: number;
  suppressed: Record<string, number>;
  couponsIssued: number;
  couponsRedeemed: number;
  orders: number;
  /** decimal string, e.g. '356.00' */
  revenue: string;
  attribution: { coupon: { orders: number; revenue: string }; window: { orders: number; revenue: string } };
}

export interface CampaignReport {
  from: string;
  to: string;
  timezone: string;
  attributionDays: number;
  campaigns: CampaignReportRow[];
}

const cents = (v: unknown) => Math.round(Number(v ?? 0) * 100);
const money = (c: number) => (c / 100).toFixed(2);

export async function campaignReport(db: DataSource, q: { from: string; to: string; timezone: string }): Promise<CampaignReport> {
  const start = zonedTime(q.from, q.timezone);
  const end = zonedTime(addDays(q.to, 1), q.timezone);
  // a later touch that can take an order from a delivery in the period was sent within the window after it
  const touchEnd = zonedTime(addDays(q.to, ATTRIBUTION_DAYS + 1), q.timezone);
  const kinds = [...CAMPAIGN_KINDS];
  const marks = kinds.map(() => '?').join(',');

  const rows = new Map<CampaignKind, CampaignReportRow & { couponCents: number; windowCents: number }>();
  for (const k of kinds) {
    rows.set(k, {
      campaign: k,
      candidates: 0,
      deliveries: 0,
      queued: 0,
      sent: 0,
      delivered: 0,
      failed: 0,
      suppressed: {},
      couponsIssued: 0,
      couponsRedeemed: 0,
      orders: 0,
      revenue: '0.00',
      attribution: { coupon: { orders: 0, revenue: '0.00' }, window: { orders: 0, revenue: '0.00' } },
      couponCents: 0,
      windowCents: 0,
    });
  }
  const row = (k: string) => rows.get(k as CampaignKind);
  const bump = (m: Record<string, number>, k: string, n: number) => (m[k] = (m[k] ?? 0) + n);

  const [ledger, deliveries, coupons, byCoupon, byWindow] = await Promise.all([
    db.query(`SELECT campaign, outcome, COUNT(*) AS n FROM campaign_candidate WHERE campaign IN (${marks}) AND sweep_date BETWEEN ? AND ? GROUP BY campaign, outcome`, [
      ...kinds,
      q.from,
      q.to,
    ]),
    db.query(
      `SELECT purpose, status, error_code, COUNT(*) AS n FROM delivery
        WHERE purpose IN (${marks}) AND created_at >= ? AND created_at < ? GROUP BY purpose, status, error_code`,
      [...kinds, start, end],
    ),
    db.query(
      `SELECT campaign, COUNT(*) AS issued, SUM(redeemed_at IS NOT NULL) AS redeemed FROM coupon
        WHERE campaign IN (${marks}) AND created_at >= ? AND created_at < ? GROUP BY campaign`,
      [...kinds, start, end],
    ),
    db.query(
      `SELECT d.purpose, COUNT(*) AS n, SUM(o.total) AS revenue FROM delivery d JOIN shop_order o ON o.attributed_delivery_id = d.id
        WHERE d.purpose IN (${marks}) AND d.created_at >= ? AND d.created_at < ? GROUP BY d.purpose`,
      [...kinds, start, end],
    ),
    db.query(
      `SELECT x.purpose, COUNT(*) AS n, SUM(x.total) AS revenue FROM (
         SELECT o.id, o.total, d.purpose, d.created_at AS d_created,
                ROW_NUMBER() OVER (PARTITION BY o.id ORDER BY d.sent_at DESC, d.id DESC) AS rn
           FROM delivery d
           JOIN shop_order o ON o.customer_id = d.customer_id AND o.placed_at >= d.sent_at AND o.placed_at < d.sent_at + INTERVAL ${ATTRIBUTION_DAYS} DAY
          WHERE d.purpose IN (${marks}) AND d.created_at >= ? AND d.created_at < ?
            AND d.status IN ('sent', 'delivered') AND d.sent_at IS NOT NULL AND o.attributed_delivery_id IS NULL
       ) x WHERE x.rn = 1 AND x.d_created >= ? AND x.d_created < ? GROUP BY x.purpose`,
      [...kinds, start, touchEnd, start, end],
    ),
  ]);

  for (const r of ledger) {
    const t = row(r.campaign);
    if (!t) continue;
    const n = Number(r.n);
    t.candidates += n;
    if (r.outcome !== 'delivery') bump(t.suppressed, r.outcome, n);
  }
  for (const r of deliveries) {
    const t = row(r.purpose);
    if (!t) continue;
    const n = Number(r.n);
    t.deliveries += n;
    if (r.status === 'queued') t.queued += n;
    if (r.status === 'sent' || r.status === 'delivered') t.sent += n;
    if (r.status === 'delivered') t.delivered += n;
    if (r.status === 'failed') t.failed += n;
    if (r.status === 'suppressed') bump(t.suppressed, r.error_code ?? 'suppressed', n);
  }
  // welcome messages are not swept: each one is its own candidate
  const welcome = rows.get('welcome')!;
  welcome.candidates += welcome.deliveries;
  for (const r of coupons) {
    const t = row(r.campaign);
    if (!t) continue;
    t.couponsIssued = Number(r.issued);
    t.couponsRedeemed = Number(r.redeemed ?? 0);
  }
  for (const r of byCoupon) {
    const t = row(r.purpose);
    if (!t) continue;
    t.attribution.coupon.orders = Number(r.n);
    t.couponCents = cents(r.revenue);
  }
  for (const r of byWindow) {
    const t = row(r.purpose);
    if (!t) continue;
    t.attribution.window.orders = Number(r.n);
    t.windowCents = cents(r.revenue);
  }
  const campaigns = kinds.map((k) => {
    const { couponCents, windowCents, ...t } = rows.get(k)!;
    t.attribution.coupon.revenue = money(couponCents);
    t.attribution.window.revenue = money(windowCents);
    t.orders = t.attribution.coupon.orders + t.attribution.window.orders;
    t.revenue = money(couponCents + windowCents);
    return t;
  });
  return { from: q.from, to: q.to, timezone: q.timezone, attributionDays: ATTRIBUTION_DAYS, campaigns };
}
