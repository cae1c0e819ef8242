// Campaign settings: one row per kind in `campaign`, the JSON exactly as GET/PUT /api/campaigns/:kind
// show and take it. Validated with zod (the first problem is reported by its field path) and the
// templates are checked here too: unknown variables, coupon variables without a coupon rule, and a
// channel in the order without a template for it are refused when saved, not discovered at send time.
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import { Invalid, NotFound } from '../platform/errors';
import { COUPON_VARIABLES, TemplateError, templateVariables, type RenderMode } from './templates';

export const CAMPAIGN_KINDS = ['welcome', 'birthday', 'reorder', 'winback'] as const;
export type CampaignKind = (typeof CAMPAIGN_KINDS)[number];
export type SweepKind = Exclude<CampaignKind, 'welcome'>;
export const SWEEP_KINDS: SweepKind[] = ['birthday', 'reorder', 'winback'];

export const isCampaignKind = (s: string): s is CampaignKind => (CAMPAIGN_KINDS as readonly string[]).includes(s);
export const isSweepKind = (s: string): s is SweepKind => (SWEEP_KINDS as readonly string[]).includes(s);

/** The campaign a path names, or NotFound listing the kinds there are. */
export function campaignKind(s: string): CampaignKind {
  if (!isCampaignKind(s)) throw new NotFound(`no campaign ${s} (${CAMPAIGN_KINDS.join(', ')})`);
  return s;
}

/** Days after the expected next order before a reorder nudge (default), and of silence before win-back. */
export const DEFAULT_GRACE_DAYS = 3;
export const DEFAULT_DORMANT_DAYS = 90;

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

export const campaignConfigSchema = z
  .object({
    enabled: z.boolean(),
    channels: z
      .array(z.enum(['wecom', 'sms', 'email']))
      .min(1, 'list at least one channel')
      .refine((a) => new Set(a).size === a.length, 'must not repeat a channel'),
    templates: z
      .object({
        wecom: z.object({ text: text(2000) }).strict().optional(),
        sms: z
          .object({
            templateId: text(64),
            signName: z.string().trim().max(32, 'must be at most 32 characters'),
            params: z.array(z.string().max(200, 'must be at most 200 characters')).max(10, 'at most 10 params'),
          })
          .strict()
          .optional(),
        email: z.object({ subject: text(200), text: text(20000), html: text(100000).optional() }).strict().optional(),
      })
      .strict(),
    coupon: z
      .object({
        value: z.number().positive('must be more than 0').max(100000, 'must be at most 100000').multipleOf(0.01, 'at most two decimals'),
        validDays: z.number().int('must be a whole number of days').min(1, 'must be at least 1').max(365, 'must be at most 365'),
        prefix: z.string().regex(/^[A-Z0-9]{0,8}-?$/, 'must be up to 8 capital letters or digits, optionally ending in -'),
        /** the order total the coupon needs (checked at the till and when an order redeems it) */
        minSpend: z.number().positive('must be more than 0').max(10000000, 'must be at most 10000000').multipleOf(0.01, 'at most two decimals').optional(),
      })
      .strict()
      .nullable(),
    sendAt: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be 'HH:mm' (24-hour, store time)"),
    params: z
      .object({
        graceDays: z.number().int('must be a whole number of days').min(0, 'must be at least 0').max(365, 'must be at most 365').optional(),
        dormantDays: z.number().int('must be a whole number of days').min(1, 'must be at least 1').max(3650, 'must be at most 3650').optional(),
      })
      .strict(),
  })
  .strict();

export type CampaignConfig = z.infer<typeof campaignConfigSchema>;
export type CampaignChannel = CampaignConfig['channels'][number];

/** Every template of a config with its field path and how it is rendered. */
export function templateFields(c: CampaignConfig): { field: string; source: string; mode: RenderMode }[] {
  const out: { field: string; source: string; mode: RenderMode }[] = [];
  if (c.templates.wecom) out.push({ field: 'templates.wecom.text', source: c.templates.wecom.text, mode: 'text' });
  if (c.templates.sms) c.templates.sms.params.forEach((p, i) => out.push({ field: `templates.sms.params.${i}`, source: p, mode: 'text' }));
  if (c.templates.email) {
    out.push({ field: 'templates.email.subject', source: c.templates.email.subject, mode: 'text' });
    out.push({ field: 'templates.email.text', source: c.templates.email.text, mode: 'text' });
    if (c.templates.email.html) out.push({ field: 'templates.email.html', source: c.templates.email.html, mode: 'html' });
  }
  return out;
}

/** Parses and checks a PUT body; throws Invalid naming the first field that is wrong. */
export function parseCampaignConfig(body: unknown): CampaignConfig {
  const parsed = campaignConfigSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Invalid(issue.path.length ? issue.path.join('.') : 'body', issue.message);
  }
  const c = parsed.data;
  for (const ch of c.channels) {
    if (!c.templates[ch]) throw new Invalid(`templates.${ch}`, `is required: channels lists ${ch}`);
  }
  for (const t of templateFields(c)) {
    let used: Set<string>;
    try {
      used = templateVariables(t.source, t.mode);
    } catch (err) {
      if (err instanceof TemplateError) throw new Invalid(t.field, err.message);
      throw err;
    }
    const couponVar = COUPON_VARIABLES.find((v) => used.has(v));
    if (couponVar && !c.coupon) throw new Invalid(t.field, `uses {{${couponVar}}} but the campaign has no coupon (coupon is null)`);
  }
  return c;
}

const zhCoupon = '{{coupon.value}}元券 {{coupon.code}}（有效期至{{coupon.expiresAt}}）';

/** Seeded by the migration (all disabled); also what a kind reads as if its row is missing. */
export const DEFAULT_CAMPAIGNS: Record<CampaignKind, CampaignConfig> = {
  welcome: {
    enabled: false,
    channels: ['wecom'],
    templates: { wecom: { text: '{{name}}您好，欢迎来到{{store}}！有任何需要随时找我。' } },
    coupon: null,
    sendAt: '10:00',
    params: {},
  },
  birthday: {
    enabled: false,
    channels: ['wecom', 'email'],
    templates: {
      wecom: { text: `{{name}}，生日快乐！{{store}}为您准备了一张${zhCoupon}。` },
      email: { subject: '{{name}}，生日快乐！', text: `{{name}}，生日快乐！{{store}}为您准备了一张${zhCoupon}。` },
    },
    coupon: { value: 20, validDays: 14, prefix: 'BDAY-' },
    sendAt: '10:00',
    params: {},
  },
  reorder: {
    enabled: false,
    channels: ['wecom', 'email'],
    templates: {
      wecom: { text: `{{name}}，您常买的{{lastProduct}}差不多该补货了。送您一张${zhCoupon}。` },
      email: { subject: '{{lastProduct}}该补货啦', text: `{{name}}，您常买的{{lastProduct}}差不多该补货了。{{store}}送您一张${zhCoupon}。` },
    },
    coupon: { value: 10, validDays: 7, prefix: 'RE-' },
    sendAt: '10:00',
    params: { graceDays: DEFAULT_GRACE_DAYS },
  },
  winback: {
    enabled: false,
    channels: ['wecom', 'email'],
    templates: {
      wecom: { text: `{{name}}，好久不见！{{store}}想念您，送您一张${zhCoupon}。` },
      email: { subject: '{{name}}，好久不见', text: `{{name}}，好久不见！{{store}}想念您，送您一张${zhCoupon}。` },
    },
    coupon: { value: 30, validDays: 30, prefix: 'WB-' },
    sendAt: '10:00',
    params: { dormantDays: DEFAULT_DORMANT_DAYS },
  },
};

type Db = DataSource | EntityManager;

export async function getCampaign(db: Db, kind: CampaignKind): Promise<CampaignConfig> {
  const [row] = await db.query(`SELECT config FROM campaign WHERE kind = ?`, [kind]);
  if (!row) return structuredClone(DEFAULT_CAMPAIGNS[kind]);
  const raw = typeof row.config === 'string' ? JSON.parse(row.config) : row.config;
  return campaignConfigSchema.parse(raw);
}

export async function putCampaign(db: Db, kind: CampaignKind, config: CampaignConfig, actor: string | null, now: Date): Promise<void> {
  await db.query(
    `INSERT INTO campaign (kind, config, updated_at, updated_by) VALUES (?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE config = VALUES(config), updated_at = VALUES(updated_at), updated_by = VALUES(updated_by)`,
    [kind, JSON.stringify(config), now, actor],
  );
}
