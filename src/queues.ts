// Bull queues on Redis. We create (and therefore close) every Redis connection Bull uses:
// one shared command client, one shared subscriber, and one blocking client per queue.
import Queue from 'bull';
import Redis, { type RedisOptions } from 'ioredis';

export interface InboundJobData {
  eventId: string;
}

export interface SendJobData {
  deliveryId: string;
}

export interface Queues {
  inbound: Queue.Queue<InboundJobData>;
  send: Queue.Queue<SendJobData>;
  all: Queue.Queue[];
  close(): Promise<void>;
}

export const QUEUE_NAMES = { inbound: 'inbound', send: 'send' } as const;

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
export function createQueues(redisUrl: string, opts: { prefix?: string; lockMs?: number } = {}): Queues {
  const connections: Redis[] = [];
  const blocking: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: false };
  const shared = { client: createRedis(redisUrl, blocking), subscriber: createRedis(redisUrl, blocking) };
  connections.push(shared.client, shared.subscriber);
  const createClient = (type: 'client' | 'subscriber' | 'bclient'): Redis => {
    if (type === 'client') return shared.client;
    if (type === 'subscriber') return shared.subscriber;
    const c = createRedis(redisUrl, blocking);
    connections.push(c);
    return c;
  };
  const make = <T>(name: string) =>
    new Queue<T>(name, {
      prefix: opts.prefix ?? 'touchpoint',
      createClient,
      settings: {
        ...(opts.lockMs ? { lockDuration: opts.lockMs, lockRenewTime: Math.floor(opts.lockMs / 2), stalledInterval: opts.lockMs } : {}),
        // exponential backoff with ±50% jitter, so retries of a burst do not arrive together
        backoffStrategies: { jittered: (attemptsMade: number, err: Error, options?: { delay?: number }) => jitteredBackoff(attemptsMade, options?.delay ?? 2000) },
      },
    });
  const inbound = make<InboundJobData>(QUEUE_NAMES.inbound);
  const send = make<SendJobData>(QUEUE_NAMES.send);
  const all = [inbound, send] as Queue.Queue[];
  return {
    inbound,
    send,
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
