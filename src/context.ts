// The composition root: one object holding every connection and service a process uses.
import type { DataSource } from 'typeorm';
import type Redis from 'ioredis';
import type { Config } from '../config';
import type { ChannelAdapter, SendChannel } from '../channels/channel';
import { createEmailAdapter } from '../channels/email';
import { createSmsAdapter } from '../channels/sms';
import { WeComApi, type TokenStore } from '../channels/wecom/api';
import { WeComAdapter } from '../channels/wecom/wecom.adapter';
import { MicroBatcher } from './platform/batcher';
import { createDataSource } from './platform/db';
import type { Domain } from './platform/domain';
import { Inbox } from './inbox/inbox';
import { createLogger, type Logger } from './platform/logger';
import { createMetrics, type Metrics } from './platform/metrics';
import { WECOM_WELCOME } from './sending/contact-policy';
import { deliveryQueueInfo } from './sending/deliveries';
import { createQueues, createRedis, SEND_CHANNELS, type Queues } from './platform/queues';

export interface AppContext {
  config: Config;
  db: DataSource;
  redis: Redis;
  queues: Queues;
  inbox: Inbox;
  wecom: WeComApi | null;
  log: Logger;
  metrics: Metrics;
  /** what jobs, handlers and domain functions take: built once here, from this config and these connections */
  domain: Domain;
  now(): Date;
  /** Hands stored events to the worker (job id = event id, so repeats are no-ops). */
  enqueueInbound(eventId: string): Promise<void>;
  /** Outbound adapters by channel (null = that channel's sending is off). */
  adapters: Record<SendChannel, ChannelAdapter | null>;
  /** Hands a delivery to its channel's send queue (job id = `delivery:<id>`; not before its not_before). */
  enqueueSend(deliveryId: string, delayMs?: number): Promise<void>;
  /** The same for many deliveries whose channel the caller knows (one Redis round trip per queue). */
  enqueueDeliveries(items: { id: string; channel: SendChannel; provider?: string; delayMs?: number }[]): Promise<void>;
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
  const queues = createQueues(config.redisUrl, { prefix: opts.queuePrefix, lockMs: opts.queueLockMs, limits: config.sending.limits });
  const inbox = new Inbox(db);
  const wecom = config.wecom.corpId
    ? new WeComApi(
        { apiBase: config.wecom.apiBase, corpId: config.wecom.corpId, store: redis as unknown as TokenStore, frequencyWindowsMs: config.sending.wecomFrequencyWindowsMs },
        { contact: config.wecom.contactSecret, agent: config.wecom.agentSecret, kf: config.wecom.kfSecret, agentId: config.wecom.agentId },
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
  const adapters: Record<SendChannel, ChannelAdapter | null> = {
    sms: createSmsAdapter(config.sms),
    email: createEmailAdapter(config.email),
    wecom: wecom ? (new WeComAdapter(wecom) as ChannelAdapter) : null,
  };
  const sendJob = (deliveryId: string, delayMs: number, provider?: string) => ({
    jobId: `delivery:${deliveryId}`,
    attempts: config.inbox.jobAttempts,
    backoff: { type: 'send', delay: 5000 },
    delay: Math.max(0, Math.round(delayMs)),
    // a welcome code lives 20 s: it goes ahead of everything waiting in the WeCom queue
    ...(provider === WECOM_WELCOME ? { priority: 1 } : {}),
    removeOnComplete: true,
    removeOnFail: true,
  });
  const enqueueDeliveries = async (items: { id: string; channel: SendChannel; provider?: string; delayMs?: number }[]) => {
    for (const channel of SEND_CHANNELS) {
      const mine = items.filter((i) => i.channel === channel);
      if (mine.length) await queues.send[channel].addBulk(mine.map((i) => ({ data: { deliveryId: i.id }, opts: sendJob(i.id, i.delayMs ?? 0, i.provider) })));
    }
  };
  const enqueueSend = async (deliveryId: string, delayMs = 0) => {
    const row = await deliveryQueueInfo(db, deliveryId);
    if (!row || !SEND_CHANNELS.includes(row.channel)) return;
    const wait = row.notBefore ? new Date(row.notBefore).getTime() - now().getTime() : 0;
    await queues.send[row.channel].add({ deliveryId }, sendJob(deliveryId, Math.max(delayMs, wait), row.provider));
  };
  const enqueueWelcome = async (w: { eventId: string; welcomeCode: string; externalUserId: string; staffUserId: string; receivedAt: Date }) => {
    await queues.welcome.add(
      { eventId: w.eventId, welcomeCode: w.welcomeCode, externalUserId: w.externalUserId, staffUserId: w.staffUserId, receivedAt: w.receivedAt.getTime() },
      // the code lives 20 s: few quick tries (a busy WeCom), never the long send backoff
      { jobId: `welcome:${w.eventId}`, priority: 1, attempts: 3, backoff: { type: 'send', delay: 1000 }, removeOnComplete: true, removeOnFail: true },
    );
  };
  const cancelSends = async (items: { id: string; channel: SendChannel }[]) => {
    for (const i of items) {
      const job = await queues.send[i.channel]?.getJob(`delivery:${i.id}`);
      // a job being worked on cannot be removed: it finds its delivery no longer queued and stops
      await job?.remove().catch(() => undefined);
    }
  };
  const domain: Domain = {
    db,
    wecom,
    log,
    now,
    timeZone: config.storeTimezone,
    storeName: config.storeName,
    lifecycle: config.lifecycle,
    adapters,
    sending: { smsSignName: config.sms.signName, email: config.email, wecomCardUrl: config.sending.wecomCardUrl },
    outbound: { enqueueSend, enqueueDeliveries, enqueueWelcome, cancelSends },
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
    enqueueDeliveries,
    async close() {
      await queues.close();
      await Promise.race([redis.quit().catch(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, 5000).unref())]);
      redis.disconnect();
      if (db.isInitialized) await db.destroy();
    },
  };
}
