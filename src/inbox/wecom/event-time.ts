import type { InboundEvent } from '../../../entities';
import { text, type XmlObject } from '../../../channels/wecom/xml';

/** When WeCom says the event happened (CreateTime, unix seconds), else when we received it. */
export function occurredAt(msg: XmlObject, ev: InboundEvent): Date {
  const secs = Number(text(msg, 'CreateTime'));
  return Number.isFinite(secs) && secs > 0 ? new Date(secs * 1000) : new Date(ev.receivedAt);
}

/** The timeline provider id for an entry caused by one inbound event. */
export const eventProviderId = (ev: InboundEvent, suffix = '') => `event:${ev.id}${suffix}`;
