// Bull queues on Redis. We create (and therefore close) every Redis connection Bull uses:
// one shared command client, one shared subscriber, and one blocking client per queue.
import Queue from 'bull';
import Redis, { type RedisOptions } from 'ioredis';
import type { SendChannel } from '../../channels/channel';

export interface InboundJobData {
  eventId: string;
}

export interface SendJobData {
  deliveryId: string;
}

/** A WeCom welcome to send: the add event's WelcomeCode lives 20 s (src/welcome.ts). */
export interface WelcomeJobData {
  eventId: string;
  welcomeCode: string;
  externalUserId: string;
  staffUserId: string;
  /** when the event reached us (ms): how long to wait for the contact to be stored */
  receivedAt: number;
}

/** The periodic pull of WeCom mass-task outcomes (get_groupmsg_send_result). */
export type WecomPollJobData = Record<string, never>;

/** Per provider: at most `max` jobs start per `duration` ms (Bull's limiter, shared by every worker). */
export interface RateLimit {
  max: number;
  duration: number;
}

export const SEND_CHANNELS: SendChannel[] = ['sms', 'email', 'wecom'];

/** One campaign's daily sweep (a repeatable job per campaign kind, at its sendAt in STORE_TIMEZONE). */
export interface CampaignSweepJobData {
  kind: 'birthday' | 'reorder' | 'winback';
}

/** The nightly lifecycle and RFM recompute (a repeatable job at 03:00 STORE_TIMEZONE). */
export type LifecycleJobData = Record<string, never>;

/** The daily deletion of raw inbound payloads past INBOUND_PAYLOAD_RETENTION_DAYS. */
export type RetentionJobData = Record<string, never>;

export interface Queues {
  inbound: Queue.Queue<InboundJobData>;
  /** one send queue per channel, each rate-limited for its provider */
  send: Record<SendChannel, Queue.Queue<SendJobData>>;
  wecomPoll: Queue.Queue<WecomPollJobData>;
  /** welcomes only: high priority, outside the WeCom send limiter, so a mass-send backlog never makes a 20 s code expire */
  welcome: Queue.Queue<WelcomeJobData>;
  lifecycle: Queue.Queue<LifecycleJobData>;
  campaigns: Queue.Queue<CampaignSweepJobData>;
  retention: Queue.Queue<RetentionJobData>;
  all: Queue.Queue[];
  close(): Promise<void>;
}

export const QUEUE_NAMES = {
  inbound: 'inbound',
  send: { sms: 'send-sms', email: 'send-email', wecom: 'send-wecom' } as Record<SendChannel, string>,
  wecomPoll: 'wecom-poll',
  welcome: 'wecom-welcome',
  lifecycle: 'lifecycle',
  campaigns: 'campaigns',
  retention: 'retention',
} as const;

/**
 * A Redis connection whose errors are reported through `onError` (at most once per 10 s) instead
 * of ioredis's "Unhandled error event" noise; it keeps reconnecting on its own.
 */
export function createRedis(redisUrl: string, extra: RedisOptions = {}, onError?: (err: Error) => void): Redis {
  const r = new Redis(redisUrl, { lazyConnect: false, ...extra });
  let last = 0;
  r.on('error', (err: Error) => {
    if (!onError || Date.now() - last < 10_000) return;
    last = Date.now();
    onError(err);
  });
  return r;
}

/** `lockMs`: how long a job's lock lives without renewal; a worker that died mid-job has its job retried after it (Bull's stalled check). */
export function createQueues(redisUrl: string, opts: { prefix?: string; lockMs?: number; limits?: Partial<Record<SendChannel, RateLimit>> } = {}): Queues {
  const connections: Redis[] = [];
  const blocking: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: false };
  const shared = { client: createRedis(redisUrl, blocking), subscriber: createRedis(redisUrl, blocking) };
  connections.push(shared.client, shared.subscriber);
  // every queue listens on the two shared connections
  for (const c of [shared.client, shared.subscriber]) c.setMaxListeners(64);
  const createClient = (type: 'client' | 'subscriber' | 'bclient'): Redis => {
    if (type === 'client') return shared.client;
    if (type === 'subscriber') return shared.subscriber;
    const c = createRedis(redisUrl, blocking);
    connections.push(c);
    return c;
  };
  const make = <T>(name: string, limiter?: RateLimit) =>
    new Queue<T>(name, {
      prefix: opts.prefix ?? 'touchpoint',
      createClient,
      ...(limiter ? { limiter } : {}),
      settings: {
        ...(opts.lockMs ? { lockDuration: opts.lockMs, lockRenewTime: Math.floor(opts.lockMs / 2), stalledInterval: opts.lockMs } : {}),
        // exponential backoff with ±50% jitter, so retries of a burst do not arrive together
        backoffStrategies: {
          jittered: (attemptsMade: number, err: Error, options?: { delay?: number }) => jitteredBackoff(attemptsMade, options?.delay ?? 2000),
          send: (attemptsMade: number, err: Error, options?: { delay?: number }) => sendBackoff(attemptsMade, err, options?.delay ?? 5000),
        },
      },
    });
  const inbound = make<InboundJobData>(QUEUE_NAMES.inbound);
  const send = Object.fromEntries(SEND_CHANNELS.map((ch) => [ch, make<SendJobData>(QUEUE_NAMES.send[ch], opts.limits?.[ch])])) as Record<SendChannel, Queue.Queue<SendJobData>>;
  const wecomPoll = make<WecomPollJobData>(QUEUE_NAMES.wecomPoll);
  const welcome = make<WelcomeJobData>(QUEUE_NAMES.welcome);
  const lifecycle = make<LifecycleJobData>(QUEUE_NAMES.lifecycle);
  const campaigns = make<CampaignSweepJobData>(QUEUE_NAMES.campaigns);
  const retention = make<RetentionJobData>(QUEUE_NAMES.retention);
  const all = [inbound, ...SEND_CHANNELS.map((ch) => send[ch]), welcome, wecomPoll, lifecycle, campaigns, retention] as Queue.Queue[];
  return {
    inbound,
    send,
    wecomPoll,
    welcome,
    lifecycle,
    campaigns,
    retention,
    all,
    async close() {
      // a queue waits for a Redis that may never answer again: give it 5 s, then cut the connections
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 5000).unref());
      await Promise.race([Promise.allSettled(all.map((q) => q.close())), timeout]);
      await Promise.race([Promise.allSettled(connections.map((c) => c.quit())), timeout]);
      for (const c of connections) c.disconnect();
    },
  };
}

export function jitteredBackoff(attemptsMade: number, baseMs: number): number {
  const exp = baseMs * 2 ** Math.max(0, attemptsMade - 1);
  return Math.round(Math.min(exp, 3_600_000) * (0.5 + Math.random()));
}

/**
 * A send's retry delay: a provider's rate-limit window when it named one (WeCom 45009: the rest of
 * the minute or hour, plus up to 10% jitter), no retry for a permanent error, else exponential with jitter.
 */
export function sendBackoff(attemptsMade: number, err: Error, baseMs: number): number {
  const e = err as Error & { retryAfterMs?: number; permanent?: boolean };
  if (e?.permanent) return -1;
  if (typeof e?.retryAfterMs === 'number' && e.retryAfterMs > 0) return Math.round(e.retryAfterMs * (1 + Math.random() * 0.1));
  return jitteredBackoff(attemptsMade, baseMs);
}
