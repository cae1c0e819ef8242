// POST /webhooks/orders — thin: secret configured? (404 'orders webhook off' when not) → raw body
// (1 MB cap, 413) → X-Touchpoint-Signature: sha256=<hex HMAC-SHA256 of the raw body with
// ORDERS_WEBHOOK_SECRET>, compared in constant time (401) → JSON → validate (400 naming the field)
// → commit to the durable inbox under `order:<orderId>` → 202 → (enqueue). The worker does the rest
// (src/orders.ts). Every refusal stores nothing.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type Router from '@koa/router';
import type { AppContext } from '../src/context';
import { parseOrderPayload } from '../src/orders/orders';
import { parseJsonObject, readRawBody } from './body';
import { DomainError, NotFound, Unavailable } from '../src/platform/errors';
import { webhookRoute } from './http-errors';
import { storeInbound } from './inbound-webhook';

export const ORDERS_BODY_LIMIT = 1024 * 1024;
export const SIGNATURE_HEADER = 'x-touchpoint-signature';

/** `sha256=<64 hex>` matching the HMAC of `raw`; the comparison takes the same time wherever they differ. */
export function signatureMatches(secret: string, raw: Buffer, header: string | undefined): boolean {
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec((header ?? '').trim());
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(raw).digest();
  return timingSafeEqual(expected, Buffer.from(m[1], 'hex'));
}

export function registerOrdersWebhook(router: Router, app: AppContext): void {
  router.post(
    '/webhooks/orders',
    webhookRoute(app, 'shop', 'orders', async (ctx) => {
      const secret = app.config.orders.webhookSecret;
      if (!secret) throw new NotFound('orders webhook off');
      const raw = await readRawBody(ctx, ORDERS_BODY_LIMIT);
      const header = ctx.get(SIGNATURE_HEADER);
      if (!header) throw new DomainError('unauthorized', 'missing_signature', 'X-Touchpoint-Signature is required');
      if (!signatureMatches(secret, raw, header)) throw new DomainError('unauthorized', 'bad_signature', 'X-Touchpoint-Signature does not match the body');
      const order = parseOrderPayload(parseJsonObject(raw), app.config.storeTimezone);
      const stored = await storeInbound(app, [
        { channel: 'shop', type: 'shop/order', dedupKey: `order:${order.orderId}`, payload: order as unknown as Record<string, unknown>, receivedAt: app.now() },
      ]);
      if (!stored) throw new Unavailable('store_unavailable', 'the order could not be stored; please retry');
      ctx.status = 202;
      ctx.body = { accepted: true, duplicate: stored[0].duplicate, eventId: stored[0].id };
    }),
  );
}
