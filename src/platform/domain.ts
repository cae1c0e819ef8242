// What the domain needs from the outside world, handed in by the composition root.
import type { DataSource } from 'typeorm';
import type { WeComApi } from '../../channels/wecom/api';
import type { LifecycleThresholds } from '../customers/lifecycle';
import type { Logger } from './logger';

export interface Domain {
  db: DataSource;
  wecom: WeComApi | null;
  log: Logger;
  now(): Date;
  /** lifecycle stage thresholds (config.lifecycle) */
  lifecycle: LifecycleThresholds;
  /** handing work to the senders (absent where nothing may be sent, e.g. some tests and tools) */
  outbound?: OutboundHooks;
}

export interface OutboundHooks {
  /** a delivery row committed: send it (its channel's queue, job id `delivery:<id>`) */
  enqueueSend(deliveryId: string, delayMs?: number): Promise<void>;
  /** STORE_TIMEZONE, for times written into messages */
  timeZone: string;
  /** an add event carried a WelcomeCode: send the welcome now (high priority, before enrichment) */
  enqueueWelcome(w: { eventId: string; welcomeCode: string; externalUserId: string; staffUserId: string; receivedAt: Date }): Promise<void>;
}

/** A failure that retrying cannot fix: the event is marked failed at once. */
export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentError';
  }
}
