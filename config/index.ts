// Every setting Touchpoint reads, read once from the environment (and a `.env` file if present),
// validated at start with a message that names each missing or invalid variable.
import fs from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { z } from 'zod';
import { loadEmailConfig, type EmailConfig } from './email';
import { loadSmsConfig, type SmsConfig } from './sms';

export type { EmailConfig, SmsConfig };

const ROLES = ['all', 'web', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
/** Whole numbers written in decimal ('0x50', '1e3' and '80.5' are refused, not reinterpreted). */
const decimal = (v: unknown) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v);
const intWithDefault = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess((v) => decimal(emptyToUndefined(v)), z.number('must be a whole number').int().min(min).max(max).default(def));

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

const schema = z.object({
  PORT: intWithDefault(3000, 0, 65535),
  DATABASE_URL: z.preprocess(
    emptyToUndefined,
    z.string().regex(/^(mysql|mariadb):\/\//, 'must be a mysql:// URL').default('mysql://root@127.0.0.1:3306/touchpoint'),
  ),
  REDIS_URL: z.preprocess(
    emptyToUndefined,
    z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').default('redis://127.0.0.1:6379'),
  ),
  ADMIN_TOKEN: z.preprocess(emptyToUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
  ROLE: z.preprocess(emptyToUndefined, z.enum(ROLES).default('all')),
  LOG_LEVEL: z.preprocess(
    emptyToUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  STORE_TIMEZONE: z.preprocess(
    emptyToUndefined,
    z.string().refine(isTimeZone, 'must be an IANA time zone such as Asia/Shanghai').default('Asia/Shanghai'),
  ),
  // Outreach: the store's name as campaign messages say it ({{store}})
  STORE_NAME: z.preprocess(emptyToUndefined, z.string().trim().min(1).max(64, 'must be at most 64 characters').default('本店')),
  WECOM_CORP_ID: optionalString,
  WECOM_TOKEN: optionalString,
  WECOM_ENCODING_AES_KEY: z.preprocess(
    emptyToUndefined,
    z.string().regex(/^[A-Za-z0-9]{43}$/, 'must be the 43-character EncodingAESKey from the WeCom console').optional(),
  ),
  WECOM_CONTACT_SECRET: optionalString,
  WECOM_AGENT_ID: optionalString,
  WECOM_AGENT_SECRET: optionalString,
  WECOM_KF_SECRET: optionalString,
  WECOM_API_BASE: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine(isHttpUrl, 'must be an http(s) origin such as https://qyapi.weixin.qq.com')
      .default('https://qyapi.weixin.qq.com'),
  ),
  WECOM_REPLAY_WINDOW_SECONDS: intWithDefault(300),
  INBOX_SWEEP_INTERVAL_SECONDS: intWithDefault(60, 1),
  INBOX_STALE_AFTER_SECONDS: intWithDefault(30, 0),
  JOB_ATTEMPTS: intWithDefault(6, 1, 50),
  // PIPL: raw inbound payloads (callback bodies, mails) are deleted this many days after they arrived
  INBOUND_PAYLOAD_RETENTION_DAYS: intWithDefault(90, 1, 3650),
  // Sending: per-provider rate limits (Bull limiter, shared by every worker) and WeCom task polling
  SMS_SEND_RATE_PER_SECOND: intWithDefault(50, 1, 100_000),
  EMAIL_SEND_RATE_PER_SECOND: intWithDefault(20, 1, 100_000),
  // WeCom: ≤ 10 000 calls/min and 150 000/h per API per corp (doc 10785) → 2 500 sends/min keeps under both
  WECOM_SEND_RATE_PER_MINUTE: intWithDefault(2500, 1, 10_000),
  WECOM_FREQUENCY_BACKOFF_MS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^\s*\d+\s*,\s*\d+\s*$/, "must be '<minute window ms>,<hour window ms>', e.g. 60000,3600000")
      .default('60000,3600000'),
  ),
  WECOM_POLL_INTERVAL_SECONDS: intWithDefault(300, 1, 86_400),
  WECOM_POLL_MAX_AGE_HOURS: intWithDefault(72, 1, 720),
  WECOM_CARD_URL: z.preprocess(emptyToUndefined, z.string().refine(isHttpUrl, 'must be an http(s) URL').default('https://work.weixin.qq.com/')),
  // Outreach: orders in, lifecycle thresholds (days)
  ORDERS_WEBHOOK_SECRET: z.preprocess(emptyToUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
  NEW_DAYS: intWithDefault(30, 1, 3650),
  DORMANT_DAYS: intWithDefault(90, 1, 3650),
  CHURNED_DAYS: intWithDefault(365, 1, 3650),
});

export interface WeComConfig {
  /** true when the callback settings (corp id, token, AES key) are all present */
  enabled: boolean;
  corpId: string;
  token: string;
  encodingAesKey: string;
  contactSecret: string | null;
  agentId: string | null;
  agentSecret: string | null;
  kfSecret: string | null;
  apiBase: string;
  replayWindowSeconds: number;
}

export interface SendingConfig {
  /** Bull limiter per send queue: at most `max` sends start per `duration` ms */
  limits: { sms: { max: number; duration: number }; email: { max: number; duration: number }; wecom: { max: number; duration: number } };
  /** how long a WeCom 45009 blocks an API: [minute window, hour window] in ms */
  wecomFrequencyWindowsMs: [number, number];
  /** how often the mass-task outcomes are polled, and for how long after the send */
  wecomPollIntervalSeconds: number;
  wecomPollMaxAgeHours: number;
  /** link on the staff cards (`{customerId}` is replaced) */
  wecomCardUrl: string;
}

export interface Config {
  port: number;
  databaseUrl: string;
  redisUrl: string;
  adminToken: string | null;
  role: Role;
  logLevel: string;
  storeTimezone: string;
  /** the store's name in campaign messages ({{store}}) */
  storeName: string;
  wecom: WeComConfig;
  inbox: { sweepIntervalSeconds: number; staleAfterSeconds: number; jobAttempts: number; payloadRetentionDays: number };
  sending: SendingConfig;
  sms: SmsConfig;
  email: EmailConfig;
  /** POST /webhooks/orders: HMAC secret (null = that webhook answers 404) */
  orders: { webhookSecret: string | null };
  /** lifecycle stage thresholds in days (src/lifecycle.ts) */
  lifecycle: { newDays: number; dormantDays: number; churnedDays: number };
  /** human-readable lines about what is switched off, logged at start */
  notices: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads `.env` (if present) under the real environment: variables already set win. */
export function readEnv(env: NodeJS.ProcessEnv = process.env, envFile = path.resolve(process.cwd(), '.env')): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = {};
  if (fs.existsSync(envFile)) Object.assign(merged, dotenv.parse(fs.readFileSync(envFile)));
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  return merged;
}

/** Settings that only make sense together; checked on the raw values so one start reports every problem. */
function wecomCompleteness(env: Record<string, string | undefined>): string[] {
  const given = (k: string) => emptyToUndefined(env[k]) !== undefined;
  const problems: string[] = [];
  const callbackParts = ['WECOM_CORP_ID', 'WECOM_TOKEN', 'WECOM_ENCODING_AES_KEY'];
  const present = callbackParts.filter(given);
  if (present.length > 0 && present.length < callbackParts.length) {
    const missing = callbackParts.filter((k) => !given(k));
    problems.push(`${missing.join(', ')}: required when any of ${callbackParts.join(', ')} is set`);
  } else if (present.length === 0) {
    const secrets = ['WECOM_CONTACT_SECRET', 'WECOM_AGENT_SECRET', 'WECOM_KF_SECRET'].filter(given);
    if (secrets.length) problems.push(`WECOM_CORP_ID, WECOM_TOKEN, WECOM_ENCODING_AES_KEY: required when ${secrets.join(', ')} is set`);
  }
  return problems;
}

export function loadConfig(env: Record<string, string | undefined> = readEnv()): Config {
  const parsed = schema.safeParse(env);
  const problems: string[] = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  problems.push(...wecomCompleteness(env));
  const notices: string[] = [];
  const sms = loadSmsConfig(env, problems, notices);
  const email = loadEmailConfig(env, problems, notices);
  if (parsed.success && !(parsed.data.NEW_DAYS <= parsed.data.DORMANT_DAYS && parsed.data.DORMANT_DAYS < parsed.data.CHURNED_DAYS)) {
    problems.push('NEW_DAYS, DORMANT_DAYS, CHURNED_DAYS: must satisfy NEW_DAYS ≤ DORMANT_DAYS < CHURNED_DAYS');
  }
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const e = parsed.data;

  const wecomEnabled = Boolean(e.WECOM_CORP_ID && e.WECOM_TOKEN && e.WECOM_ENCODING_AES_KEY);
  if (!e.WECOM_CORP_ID && !e.WECOM_TOKEN && !e.WECOM_ENCODING_AES_KEY) notices.push('WeCom callbacks are off: WECOM_CORP_ID, WECOM_TOKEN and WECOM_ENCODING_AES_KEY are not set');
  if (wecomEnabled && !e.WECOM_CONTACT_SECRET) notices.push('WECOM_CONTACT_SECRET is not set: customer-contact events will be stored but cannot be enriched from the WeCom API');
  if (!e.ADMIN_TOKEN) notices.push('ADMIN_TOKEN is not set: /api refuses every request until it is');
  if (!e.ORDERS_WEBHOOK_SECRET) notices.push('ORDERS_WEBHOOK_SECRET is not set: POST /webhooks/orders answers 404 (CSV imports still work)');

  return {
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    adminToken: e.ADMIN_TOKEN ?? null,
    role: e.ROLE,
    logLevel: e.LOG_LEVEL,
    storeTimezone: e.STORE_TIMEZONE,
    storeName: e.STORE_NAME,
    wecom: {
      enabled: wecomEnabled,
      corpId: e.WECOM_CORP_ID ?? '',
      token: e.WECOM_TOKEN ?? '',
      encodingAesKey: e.WECOM_ENCODING_AES_KEY ?? '',
      contactSecret: e.WECOM_CONTACT_SECRET ?? null,
      agentId: e.WECOM_AGENT_ID ?? null,
      agentSecret: e.WECOM_AGENT_SECRET ?? null,
      kfSecret: e.WECOM_KF_SECRET ?? e.WECOM_AGENT_SECRET ?? null,
      apiBase: e.WECOM_API_BASE.replace(/\/+$/, ''),
      replayWindowSeconds: e.WECOM_REPLAY_WINDOW_SECONDS,
    },
    inbox: {
      sweepIntervalSeconds: e.INBOX_SWEEP_INTERVAL_SECONDS,
      staleAfterSeconds: e.INBOX_STALE_AFTER_SECONDS,
      jobAttempts: e.JOB_ATTEMPTS,
      payloadRetentionDays: e.INBOUND_PAYLOAD_RETENTION_DAYS,
    },
    sending: {
      limits: {
        sms: { max: e.SMS_SEND_RATE_PER_SECOND, duration: 1000 },
        email: { max: e.EMAIL_SEND_RATE_PER_SECOND, duration: 1000 },
        wecom: { max: e.WECOM_SEND_RATE_PER_MINUTE, duration: 60_000 },
      },
      wecomFrequencyWindowsMs: e.WECOM_FREQUENCY_BACKOFF_MS.split(',').map((n) => Number(n.trim())) as [number, number],
      wecomPollIntervalSeconds: e.WECOM_POLL_INTERVAL_SECONDS,
      wecomPollMaxAgeHours: e.WECOM_POLL_MAX_AGE_HOURS,
      wecomCardUrl: e.WECOM_CARD_URL,
    },
    sms,
    email,
    orders: { webhookSecret: e.ORDERS_WEBHOOK_SECRET ?? null },
    lifecycle: { newDays: e.NEW_DAYS, dormantDays: e.DORMANT_DAYS, churnedDays: e.CHURNED_DAYS },
    notices,
  };
}
