// Processing one stored inbound event: find its handler by channel and type, run it, record the outcome.
import { parseWeComPayload } from './wecom/payload';
import { findWeComHandler } from './wecom/wecom-dispatch';
import type { InboundItem } from '../../channels/channel';
import type { Domain } from '../platform/domain';
import { processInboundItem } from './inbound-message';
import type { Inbox } from './inbox';
import { processOrderEvent } from '../orders/orders';

export type ProcessOutcome = 'processed' | 'already-processed' | 'missing' | 'ignored';

/** Runs the event's handler; throws what the handler throws (the caller decides on retries). */
export async function processInboundEvent(d: Domain, inbox: Inbox, eventId: string): Promise<ProcessOutcome> {
  const ev = await inbox.get(eventId);
  if (!ev) return 'missing';
  if (ev.status === 'processed') return 'already-processed';
  await inbox.markAttempt(eventId);
  let outcome: ProcessOutcome = 'processed';
  switch (ev.channel) {
    case 'wecom': {
      const msg = parseWeComPayload(ev.payload);
      const handler = findWeComHandler(msg);
      if (handler) await handler(d, ev, msg);
      else outcome = 'ignored';
      break;
    }
    case 'sms':
    case 'email':
      await processInboundItem(d, ev, ev.payload as unknown as InboundItem);
      break;
    case 'shop':
      await processOrderEvent(d, ev);
      break;
    default:
      outcome = 'ignored';
  }
  await inbox.markProcessed(eventId, d.now());
  return outcome;
}
