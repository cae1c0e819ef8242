// What the domain needs from the outside world, handed in by the composition root: one object,
// built once in src/context.ts (AppContext.domain), that every job, handler and domain function takes.
import type { DataSource } from 'typeorm';
import type { EmailConfig } from '../../config';
import type { ChannelAdapter, SendChannel } from '../../channels/channel';
import type { WeComApi } from '../../channels/wecom/api';
import type { LifecycleThresholds } from '../customers/lifecycle';
import type { Logger } from './logger';

export interface Domain {
  db: DataSource;
  wecom: WeComApi | null;
  log: Logger;
  now(): Date;
  /** STORE_TIMEZONE: store-local days, quiet hours, the dates written into messages */
  timeZone: string;
  /** STORE_NAME ({{store}} in campaign messages) */
  storeName: string;
  /** lifecycle stage thresholds (config.lifecycle) */
  lifecycle: LifecycleThresholds;
  /** outbound adapters by channel (null = that channel's sending is off) */
  adapters: Partial<Record<SendChannel, ChannelAdapter | null>>;
  /** the sending settings message content is built from */
  sending: {
    /** SMS_SIGN_NAME: the default 签名 */
    smsSignName: string | null;
    /** email settings: unsubscribe links, the Message-ID domain */
    email: EmailConfig;
    /** the link on WeCom staff cards; `{customerId}` is replaced */
    wecomCardUrl: string;
  };
  /** handing work to the senders (absent where nothing may be sent, e.g. some tests and tools) */
  outbound?: OutboundHooks;
}

export interface OutboundHooks {
  /** a delivery row committed: send it (its channel's queue, job id `delivery:<id>`; not before its not_before) */
  enqueueSend(deliveryId: string, delayMs?: number): Promise<void>;
  /** the same for many deliveries whose channel the caller knows (one Redis round trip per queue) */
  enqueueDeliveries(items: { id: string; channel: SendChannel; provider?: string; delayMs?: number }[]): Promise<void>;
  /** these deliveries will never go out (e.g. the customer was erased): drop their waiting send jobs */
  cancelSends?(items: { id: string; channel: SendChannel }[]): Promise<void>;
  /** an add event carried a WelcomeCode: send the welcome now (high priority, before enrichment) */
  enqueueWelcome(w: { eventId: string; welcomeCode: string; externalUserId: string; staffUserId: string; receivedAt: Date }): Promise<void>;
}
