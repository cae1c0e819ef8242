// Starts Touchpoint in-process against the real test MariaDB and Redis, with the WeCom API played
// by the local fake, and gives tests an HTTP client, a WeCom callback sender and a wait helper.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { loadConfig, type Config } from '../../config';
import { sealCallback } from '../../channels/wecom/crypto';
import { createContext, type AppContext } from '../../src/context';
import { startServer } from '../../src/server';
import { startWorker, type Worker } from '../../src/worker';
import { startFakeWeCom, type FakeWeCom } from '../fakes/wecom-api.fake';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from './env';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const WECOM = {
  corpId: 'wwcorp0001',
  token: 'QDG6eK',
  encodingAesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C',
};

export interface Harness {
  app: AppContext;
  config: Config;
  fake: FakeWeCom;
  url: string;
  worker: Worker | null;
  /** fetch against the app; `auth: false` leaves the admin bearer off */
  request(path: string, init?: RequestInit & { auth?: boolean }): Promise<Response>;
  /** GET an /api path with the admin token and return the JSON */
  getJson<T = any>(path: string): Promise<T>;
  /** encrypts and signs `xml` as WeCom would and POSTs it to /webhooks/wecom */
  sendCallback(xml: string, opts?: { timestamp?: string; nonce?: string }): Promise<Response>;
  startWorker(): Worker;
  close(): Promise<void>;
}

/** The WeCom API settings when no fake WeCom runs (the fake's env() otherwise): nothing listens at the base. */
const WECOM_API_UNREACHABLE: Record<string, string> = {
  WECOM_CORP_ID: WECOM.corpId,
  WECOM_CONTACT_SECRET: 'contact-secret',
  WECOM_AGENT_ID: '1000002',
  WECOM_AGENT_SECRET: 'agent-secret',
  WECOM_API_BASE: 'http://127.0.0.1:9',
};

/**
 * The environment the tests run Touchpoint with (also handed to worker processes they spawn):
 * the WeCom API settings from `wecomApi` (a fake's env()), then `env` over everything.
 */
export function testEnv(env: Record<string, string> = {}, wecomApi: Record<string, string> = WECOM_API_UNREACHABLE): Record<string, string> {
  return {
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    WECOM_TOKEN: WECOM.token,
    WECOM_ENCODING_AES_KEY: WECOM.encodingAesKey,
    ...wecomApi,
    INBOX_STALE_AFTER_SECONDS: '0',
    INBOX_SWEEP_INTERVAL_SECONDS: '3600',
    ...env,
  };
}

/**
 * Every outbound channel switched on, pointed at addresses where nothing answers: for tests that
 * route and create deliveries but never send them (routing passes over channels that are off).
 */
export const ALL_CHANNELS_ON: Record<string, string> = {
  SMS_PROVIDER: 'twilio',
  TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 'twilio-auth-token-for-tests',
  TWILIO_FROM: '+14155550100',
  TWILIO_API_BASE: 'http://127.0.0.1:9',
  SMTP_URL: 'smtp://127.0.0.1:9',
  EMAIL_FROM: '"咖啡小店" <hello@shop.example>',
  PUBLIC_BASE_URL: 'https://crm.shop.example',
  UNSUBSCRIBE_SECRET: 'unsubscribe-secret-for-tests-0123456789',
};

export function testConfig(env: Record<string, string> = {}, wecomApi?: Record<string, string>): Config {
  return loadConfig(testEnv(env, wecomApi));
}

/** Empties every table and the test Redis database. */
export async function resetState(app: AppContext): Promise<void> {
  const tables: { t: string }[] = await app.db.query(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' AND table_name <> 'migrations'`,
  );
  await app.db.transaction(async (em) => {
    await em.query('SET FOREIGN_KEY_CHECKS = 0');
    for (const { t } of tables) await em.query(`DELETE FROM \`${t}\``);
    await em.query('SET FOREIGN_KEY_CHECKS = 1');
  });
  await app.redis.flushdb();
}

export async function startHarness(
  opts: { env?: Record<string, string>; worker?: boolean; now?: () => Date; reset?: boolean; queueLockMs?: number; databaseUrl?: string } = {},
): Promise<Harness> {
  const fake = await startFakeWeCom(WECOM.corpId);
  const config = testConfig({ ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}), ...opts.env }, fake.env());
  const app = await createContext(config, { log: pino({ level: 'silent' }), now: opts.now, queueLockMs: opts.queueLockMs });
  if (opts.reset !== false) await resetState(app);
  const server: http.Server = await startServer(app, 0);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const h: Harness = {
    app,
    config,
    fake,
    url,
    worker: null,
    request(path, init = {}) {
      const headers = new Headers(init.headers);
      if (init.auth !== false && path.startsWith('/api')) headers.set('authorization', `Bearer ${ADMIN_TOKEN}`);
      return fetch(url + path, { ...init, headers });
    },
    async getJson(path) {
      const res = await h.request(path);
      if (res.status !== 200) throw new Error(`GET ${path} → ${res.status} ${await res.text()}`);
      return (await res.json()) as any;
    },
    sendCallback(xml, o = {}) {
      const ts = o.timestamp ?? String(Math.floor(app.now().getTime() / 1000));
      const sealed = sealCallback({ token: WECOM.token, encodingAesKey: WECOM.encodingAesKey, corpId: WECOM.corpId }, xml, ts, o.nonce);
      return fetch(`${url}/webhooks/wecom?${new URLSearchParams(sealed.query)}`, { method: 'POST', body: sealed.body, headers: { 'content-type': 'text/xml' } });
    },
    startWorker() {
      h.worker = startWorker(app, { concurrency: 4, sweep: false });
      return h.worker;
    },
    async close() {
      if (h.worker) await h.worker.stop();
      await new Promise((r) => server.close(r));
      server.closeAllConnections();
      await app.close();
      await fake.close();
    },
  };
  if (opts.worker) h.startWorker();
  return h;
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T = any>(check: () => Promise<T | null | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** WeCom event XML the way WeCom writes it (CDATA strings, bare numbers). */
export function wecomEventXml(fields: Record<string, string | number>): string {
  const body = Object.entries(fields)
    .map(([k, v]) => (typeof v === 'number' ? `<${k}>${v}</${k}>` : `<${k}><![CDATA[${v}]]></${k}>`))
    .join('');
  return `<xml><ToUserName><![CDATA[${WECOM.corpId}]]></ToUserName>${body}</xml>`;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
