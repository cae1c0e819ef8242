// Shared by every webhook: commit records to the durable inbox (each under its own de-dup key),
// count them, and enqueue the new ones once the answer is decided. The caller answers the
// provider only after this resolved; `null` means the inbox could not take them → answer 5xx so
// the provider retries.
import type { InboundItem } from '../channels/channel';
import type { AppContext } from '../src/context';
import type { InboundRecord, StoredEvent } from '../src/inbox/inbox';

export async function storeInbound(app: AppContext, records: InboundRecord[]): Promise<StoredEvent[] | null> {
  if (!records.length) return [];
  const channel = records[0].channel;
  let stored: StoredEvent[];
  try {
    stored = await Promise.all(records.map((r) => app.inbox.store(r)));
  } catch (err) {
    app.metrics.callbacksRejected.inc({ channel, reason: 'store_unavailable' });
    app.log.error({ channel, err: (err as Error).message }, 'could not store inbound events; answering 5xx so the sender retries');
    return null;
  }
  for (const s of stored) {
    if (s.duplicate) app.metrics.callbacksDuplicate.inc({ channel });
    else app.metrics.callbacksReceived.inc({ channel });
    if (s.status === 'received') {
      // a lost enqueue is picked up by the inbox sweep
      setImmediate(() => app.enqueueInbound(s.id).catch((err) => app.log.warn({ err: (err as Error).message, eventId: s.id }, 'enqueue failed; the sweep will pick it up')));
    }
  }
  return stored;
}

/** SMS/email provider items into the inbox; false when they could not be stored. */
export async function storeInboundItems(app: AppContext, items: InboundItem[]): Promise<boolean> {
  const receivedAt = app.now();
  const stored = await storeInbound(
    app,
    items.map((item) => ({
      channel: item.channel,
      type: `${item.channel}/${item.provider}/${item.type}`.slice(0, 96),
      dedupKey: item.dedupKey.slice(0, 191),
      payload: item as unknown as Record<string, unknown>,
      receivedAt,
    })),
  );
  return stored !== null;
}
