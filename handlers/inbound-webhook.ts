// Shared by the SMS and email webhooks: commit every parsed item to the durable inbox (each under
// its own de-dup key), then enqueue. Answer the provider only after `storeInboundItems` resolved
// true; on false answer 5xx so the provider retries.
import type { InboundItem } from '../channels/channel';
import type { AppContext } from '../src/context';

export async function storeInboundItems(app: AppContext, items: InboundItem[]): Promise<boolean> {
  let stored;
  try {
    const receivedAt = app.now();
    stored = await Promise.all(
      items.map((item) =>
        app.inbox.store({
          channel: item.channel,
          type: `${item.channel}/${item.provider}/${item.type}`.slice(0, 96),
          dedupKey: item.dedupKey.slice(0, 191),
          payload: item as unknown as Record<string, unknown>,
          receivedAt,
        }),
      ),
    );
  } catch (err) {
    app.metrics.callbacksRejected.inc({ channel: items[0]?.channel ?? 'unknown', reason: 'store_unavailable' });
    app.log.error({ err: (err as Error).message }, 'could not store inbound items; answering 5xx so the provider retries');
    return false;
  }
  for (const s of stored) {
    const channel = items[0].channel;
    if (s.duplicate) app.metrics.callbacksDuplicate.inc({ channel });
    else app.metrics.callbacksReceived.inc({ channel });
    if (s.status === 'received') {
      // after the answer is decided; a lost enqueue is picked up by the inbox sweep
      setImmediate(() => app.enqueueInbound(s.id).catch((err) => app.log.warn({ err: (err as Error).message, eventId: s.id }, 'enqueue failed; the sweep will pick it up')));
    }
  }
  return true;
}
