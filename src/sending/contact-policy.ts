// The one contact policy, checked when a delivery is about to be SENT (not only when it is queued),
// across every channel:
//   consent (the ledger)                        → skip `opted_out`        (every delivery but transactional ones and staff alerts)
//   the address an erased person opted out on   → skip `opted_out`        (src/consent/suppression.ts: one primary-key lookup)
//   consent bound to the address sent to        → skip `address_opted_out` (the same deliveries; whoever holds the address)
//   quiet hours in STORE_TIMEZONE               → wait until they end      (automated = marketing deliveries)
//   the customer messaged us within N hours     → skip `in_conversation`   (automated)
//   ≤ perDay automated messages per store day   → skip `cap_per_day`       (automated, all channels together)
//   ≤ per30Days automated messages in 30 days   → skip `cap_per_30_days`   (automated, all channels together)
//   WeCom: one mass message (add_msg_template) per customer per day → skip `wecom_mass_daily`
//   WeCom customer service (微信客服): only within 48 h of the customer's last message, ≤ 5 replies → skip `kf_window_closed` / `kf_reply_limit`
// The policy itself is one row in `contact_policy`, edited through GET/PUT /api/policy.
// `checkPolicy` only reads; the caller holds the customer's row lock while it checks and records the
// pass (`counted_at`), so two sends for one customer cannot both squeeze under a cap.
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import type { ConsentChannel } from '../../entities';
import { addressConsent, isOptedOut } from '../consent/consent';
import { isAddressSuppressed } from '../consent/suppression';
import { Invalid } from '../platform/errors';
import { startOfLocalDay, wallClock, wallTime } from '../platform/store-time';

export interface PolicySettings {
  /** store-local 'HH:mm'; null = no quiet hours */
  quietHours: { start: string; end: string } | null;
  caps: { perDay: number; per30Days: number };
  conversationPauseHours: number;
}

export const DEFAULT_POLICY: PolicySettings = { quietHours: { start: '21:00', end: '09:00' }, caps: { perDay: 1, per30Days: 4 }, conversationPauseHours: 2 };

const hhmm = z.string('must be a string').regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be 'HH:mm' (00:00–23:59)");

/** What PUT /api/policy accepts; unknown fields are refused so a typo is not silently ignored. */
export const policySchema = z
  .object({
    quietHours: z
      .object({ start: hhmm, end: hhmm }, 'must be an object { start, end } or null')
      .strict()
      .refine((q) => q.start !== q.end, { message: 'start and end must differ (use null for no quiet hours)', path: ['end'] })
      .nullable(),
    caps: z
      .object(
        {
          perDay: z.number('must be a number').int('must be a whole number').min(0).max(100),
          per30Days: z.number('must be a number').int('must be a whole number').min(0).max(1000),
        },
        'must be an object { perDay, per30Days }',
      )
      .strict()
      .refine((c) => c.per30Days >= c.perDay, { message: 'must be at least caps.perDay', path: ['per30Days'] }),
    conversationPauseHours: z.number('must be a number').min(0).max(720).multipleOf(0.25, 'must be a multiple of 0.25'),
  }, 'must be a JSON object')
  .strict();

/** Validates a PUT body; throws Invalid naming the first bad field (e.g. `caps.perDay`). */
export function parsePolicy(body: unknown): PolicySettings {
  const r = policySchema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]].join('.') : issue.path.join('.') || 'body';
  throw new Invalid(field, issue.code === 'unrecognized_keys' ? 'is not a policy field' : issue.message);
}

type Db = DataSource | EntityManager;

export async function getPolicy(db: Db): Promise<PolicySettings> {
  const [row] = await db.query(`SELECT quiet_start, quiet_end, cap_per_day, cap_per_30_days, conversation_pause_hours FROM contact_policy WHERE id = 1`);
  if (!row) return DEFAULT_POLICY;
  return {
    quietHours: row.quiet_start && row.quiet_end ? { start: row.quiet_start, end: row.quiet_end } : null,
    caps: { perDay: Number(row.cap_per_day), per30Days: Number(row.cap_per_30_days) },
    conversationPauseHours: Number(row.conversation_pause_hours),
  };
}

export async function savePolicy(db: Db, p: PolicySettings, actor: string | null, now: Date): Promise<PolicySettings> {
  policyCache.delete(dataSourceOf(db));
  await db.query(
    `INSERT INTO contact_policy (id, quiet_start, quiet_end, cap_per_day, cap_per_30_days, conversation_pause_hours, updated_at, updated_by)
     VALUES (1, ?, ?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE quiet_start = VALUES(quiet_start), quiet_end = VALUES(quiet_end), cap_per_day = VALUES(cap_per_day),
       cap_per_30_days = VALUES(cap_per_30_days), conversation_pause_hours = VALUES(conversation_pause_hours),
       updated_at = VALUES(updated_at), updated_by = VALUES(updated_by)`,
    [p.quietHours?.start ?? null, p.quietHours?.end ?? null, p.caps.perDay, p.caps.per30Days, p.conversationPauseHours, now, actor],
  );
  return getPolicy(db);
}

/** What the send path reads: the stored policy, cached for a second per process (a PUT here clears it at once). */
const POLICY_CACHE_MS = 1000;
const policyCache = new Map<unknown, { at: number; policy: Promise<PolicySettings> }>();
const dataSourceOf = (db: Db): unknown => ('connection' in db && db.connection ? db.connection : db);

export function currentPolicy(db: Db): Promise<PolicySettings> {
  const key = dataSourceOf(db);
  const hit = policyCache.get(key);
  if (hit && Date.now() - hit.at < POLICY_CACHE_MS) return hit.policy;
  const policy = getPolicy(db);
  policyCache.set(key, { at: Date.now(), policy });
  policy.catch(() => policyCache.delete(key));
  return policy;
}

// ------------------------------------------------------------------------------------ the check

/** The delivery fields the policy looks at (a `delivery` row as SELECT * returns it). */
export interface PolicyDelivery {
  id: string;
  customer_id: string;
  channel: string;
  provider: string;
  purpose: string;
  marketing: number | boolean;
  not_before?: Date | string | null;
  /** already read with the delivery (the send path does): the customer's consent for this channel */
  consent_status?: string | null;
  /** phone (E.164) or email the delivery goes to (an address an erased person opted out on stays suppressed) */
  to_address?: string | null;
  /** already read with the delivery (the send path does): the consent bound to `to_address` */
  address_consent_status?: string | null;
}

export type PolicyDecision = { ok: true } | { wait: Date } | { skip: PolicySkipReason };
export type PolicySkipReason = 'opted_out' | 'address_opted_out' | 'in_conversation' | 'cap_per_day' | 'cap_per_30_days' | 'wecom_mass_daily' | 'kf_window_closed' | 'kf_reply_limit';

export interface PolicyOptions {
  /** STORE_TIMEZONE: quiet hours and the per-day cap are store-local */
  timeZone: string;
  /** the policy to apply (default: read from `contact_policy`) */
  policy?: PolicySettings;
}

/** Deliveries the policy does not apply to at all: they are not to the customer, or the customer must get them. */
export const POLICY_EXEMPT_PURPOSES = new Set(['transactional', 'staff_alert']);
/** WeCom providers (delivery.provider) that the WeCom-only limits look at. */
export const WECOM_MASS = 'wecom';
export const WECOM_KF = 'wecom_kf';
export const WECOM_WELCOME = 'wecom_welcome';
/** WeCom counts its one-mass-message-a-day on China's calendar, whatever the store's zone. */
const WECOM_TIMEZONE = 'Asia/Shanghai';
const KF_WINDOW_MS = 48 * 3600_000;
const KF_MAX_REPLIES = 5;
const DAY_MS = 24 * 3600_000;

/** True when the delivery is an automated (campaign) message, which the whole policy applies to. */
export const isAutomated = (d: PolicyDelivery) => Boolean(Number(d.marketing));

/**
 * Decides whether `delivery` may go out at `now`: ok, wait until a given instant, or skip with a
 * reason. Reads only (consent, policy, the customer's recent messages and deliveries).
 */
export async function checkPolicy(em: Db, d: PolicyDelivery, now: Date, opts: PolicyOptions): Promise<PolicyDecision> {
  if (POLICY_EXEMPT_PURPOSES.has(d.purpose)) return { ok: true };
  const optedOut = d.consent_status !== undefined ? d.consent_status === 'opted_out' : await isOptedOut(em, d.customer_id, d.channel as ConsentChannel);
  if (optedOut) return { skip: 'opted_out' };
  if (d.to_address && (await isAddressSuppressed(em, d.channel, d.to_address))) return { skip: 'opted_out' };
  const addressStatus =
    d.address_consent_status !== undefined ? d.address_consent_status : d.to_address ? (await addressConsent(em, d.channel as ConsentChannel, d.to_address))?.status : null;
  if (addressStatus === 'opted_out') return { skip: 'address_opted_out' };

  if (d.provider === WECOM_KF) {
    const kf = await kfWindow(em, d, now);
    if (kf) return { skip: kf };
  }
  // a welcome answers the customer's own add (its code lives 20 s): no waiting and no caps, but it counts
  if (!isAutomated(d) || d.provider === WECOM_WELCOME) return { ok: true };

  const policy = opts.policy ?? (await currentPolicy(em));
  const notBefore = d.not_before ? new Date(d.not_before) : null;
  if (notBefore && notBefore.getTime() > now.getTime()) return { wait: notBefore };
  const quietEnd = quietHoursEnd(policy, now, opts.timeZone);
  if (quietEnd) return { wait: quietEnd };

  // one round trip for the rest: the customer's last message to us (kept on the row, and the timeline
  // for any channel that does not keep it) and the automated messages counted for them. The 30-day
  // window is rolling; today (store-local) and WeCom's day (China) both lie inside it.
  const since = new Date(now.getTime() - policy.conversationPauseHours * 3600_000);
  const [counts] = await em.query(
    `SELECT COUNT(*) AS month, COALESCE(SUM(counted_at >= ?), 0) AS today, COALESCE(SUM(provider = ? AND counted_at >= ?), 0) AS wecom_today,
            (SELECT last_inbound_at FROM customer WHERE id = ?) AS last_inbound_at,
            EXISTS (SELECT 1 FROM timeline_entry WHERE customer_id = ? AND occurred_at > ? AND direction = 'in') AS talking
       FROM delivery
      WHERE customer_id = ? AND counted_at > ? AND marketing = 1 AND status IN ('queued', 'sent', 'delivered') AND id <> ?`,
    [
      startOfLocalDay(now, opts.timeZone), WECOM_MASS, startOfLocalDay(now, WECOM_TIMEZONE),
      d.customer_id, d.customer_id, since,
      d.customer_id, new Date(now.getTime() - 30 * DAY_MS), d.id,
    ],
  );
  if (policy.conversationPauseHours > 0) {
    const lastIn = counts.last_inbound_at ? new Date(counts.last_inbound_at) : null;
    if ((lastIn && lastIn > since) || Number(counts.talking) === 1) return { skip: 'in_conversation' };
  }
  if (Number(counts.today) >= policy.caps.perDay) return { skip: 'cap_per_day' };
  if (Number(counts.month) >= policy.caps.per30Days) return { skip: 'cap_per_30_days' };
  if (d.provider === WECOM_MASS && Number(counts.wecom_today) >= 1) return { skip: 'wecom_mass_daily' };
  return { ok: true };
}

/** 微信客服: a reply only within 48 h of the customer's last kf message, and at most 5 since it. */
async function kfWindow(em: Db, d: PolicyDelivery, now: Date): Promise<PolicySkipReason | null> {
  const [last] = await em.query(
    `SELECT MAX(occurred_at) AS at FROM timeline_entry WHERE customer_id = ? AND channel = 'wecom_kf' AND direction = 'in' AND occurred_at > ?`,
    [d.customer_id, new Date(now.getTime() - KF_WINDOW_MS)],
  );
  if (!last?.at) return 'kf_window_closed';
  const [sent] = await em.query(
    `SELECT COUNT(*) AS n FROM delivery WHERE customer_id = ? AND provider = ? AND counted_at >= ? AND status IN ('queued', 'sent', 'delivered') AND id <> ?`,
    [d.customer_id, WECOM_KF, new Date(last.at), d.id],
  );
  return Number(sent.n) >= KF_MAX_REPLIES ? 'kf_reply_limit' : null;
}

// ------------------------------------------------------------------------------------ store-local time

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** When `now` falls in quiet hours, the instant they end (the next window's start); else null. */
export function quietHoursEnd(policy: PolicySettings, now: Date, tz: string): Date | null {
  const q = policy.quietHours;
  if (!q) return null;
  const p = wallClock(now, tz);
  const t = p.hour * 60 + p.minute;
  const start = minutesOf(q.start);
  const end = minutesOf(q.end);
  const quiet = start < end ? t >= start && t < end : t >= start || t < end;
  if (!quiet) return null;
  // the next time the clock reads `end`: today if it is still ahead, else tomorrow
  const dayOffset = t < end ? 0 : 1;
  return wallTime(tz, p.year, p.month, p.day + dayOffset, Math.floor(end / 60), end % 60);
}
