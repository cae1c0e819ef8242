// The composition root: one object holding every connection and service a process uses.
import type { DataSource } from 'typeorm';
import type Redis from 'ioredis';
import type { Config } from '../config';
import type { ChannelAdapter, SendChannel } from '../channels/channel';
import { createEmailAdapter } from '../channels/email';
import { createSmsAdapter } from '../channels/sms';
import { WeComApi, type TokenStore } from '../channels/wecom/api';
import { MicroBatcher } from './batcher';
import { createDataSource } from './db';
import type { Domain } from './domain';
import { Inbox } from './inbox';
import { createLogger, type Logger } from './logger';
import { createMetrics, type Metrics } from './metrics';
import { createQueues, createRedis, type Queues } from './queues';

export interface AppContext {
  config: Config;
  db: DataSource;
  redis: Redis;
  queues: Queues;
  inbox: Inbox;
  wecom: WeComApi | null;
  log: Logger;
  metrics: Metrics;
  domain: Domain;
  now(): Date;
  /** Hands stored events to the worker (job id = event id, so repeats are no-ops). */
  enqueueInbound(eventId: string): Promise<void>;
  /** Outbound adapters by channel (null = that channel's sending is off). */
  adapters: Record<SendChannel, ChannelAdapter | null>;
  /** Hands a delivery to the send queue (job id = `delivery:<id>`). */
  enqueueSend(deliveryId: string, delayMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface ContextOptions {
  log?: Logger;
  now?: () => Date;
  queuePrefix?: string;
  poolSize?: number;
  /** job lock duration (default Bull's 30 s): a job whose worker died is retried after it */
  queueLockMs?: number;
}

export async function createContext(config: Config, opts: ContextOptions = {}): Promise<AppContext> {
  const log = opts.log ?? createLogger(config.logLevel);
  const now = opts.now ?? (() => new Date());
  const db = createDataSource(config.databaseUrl, opts.poolSize);
  await db.initialize();
  const redis = createRedis(config.redisUrl, { maxRetriesPerRequest: 3 }, (err) => log.warn({ err: err.message }, 'redis connection error'));
  const queues = createQueues(config.redisUrl, { prefix: opts.queuePrefix, lockMs: opts.queueLockMs });
  const inbox = new Inbox(db);
  const wecom = config.wecom.corpId
    ? new WeComApi(
        { apiBase: config.wecom.apiBase, corpId: config.wecom.corpId, store: redis as unknown as TokenStore },
        { contact: config.wecom.contactSecret, agent: config.wecom.agentSecret, kf: config.wecom.kfSecret },
      )
    : null;
  const metrics = createMetrics(() => inbox.lag(now()));
  const jobOptions = (eventId: string) => ({
    jobId: eventId,
    attempts: config.inbox.jobAttempts,
    backoff: { type: 'exponential', delay: 2000 },
    removeOnComplete: true,
    removeOnFail: true,
  });
  const enqueuer = new MicroBatcher<string, void>(
    async (ids) => {
      await queues.inbound.addBulk(ids.map((eventId) => ({ data: { eventId }, opts: jobOptions(eventId) })));
      return ids.map(() => undefined);
    },
    { maxBatch: 500, maxInFlight: 2 },
  );
  const domain: Domain = { db, wecom, log, now, lifecycle: config.lifecycle };
  const adapters = { sms: createSmsAdapter(config.sms), email: createEmailAdapter(config.email) } as Record<SendChannel, ChannelAdapter | null>;
  const enqueueSend = async (deliveryId: string, delayMs = 0) => {
    await queues.send.add(
      { deliveryId },
      {
        jobId: `delivery:${deliveryId}`,
        attempts: config.inbox.jobAttempts,
        backoff: { type: 'jittered', delay: 5000 },
        delay: delayMs,
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  };
  return {
    config,
    db,
    redis,
    queues,
    inbox,
    wecom,
    log,
    metrics,
    domain,
    now,
    enqueueInbound: (id) => enqueuer.submit(id),
    adapters,
    enqueueSend,
    async close() {
      await queues.close();
      await Promise.race([redis.quit().catch(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, 5000).unref())]);
      redis.disconnect();
      if (db.isInitialized) await db.destroy();
    },
  };
}
