// /api consents, staff messages and deliveries: auth (router-level) → validate → domain → JSON.
import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import type { ConsentChannel } from '../entities';
import { DELIVERY_STATUSES } from '../entities';
import { CONSENT_CHANNELS, customerConsents, setConsentByHand } from '../src/consent/consent';
import type { AppContext } from '../src/context';
import { getDelivery, listDeliveries } from '../src/sending/deliveries';
import { sendManualMessage } from '../src/sending/manual-message';
import { Invalid, NotFound } from '../src/platform/errors';
import { parseLimit } from '../src/platform/paging';
import { queryString as str, readJson } from './body';

const isId = (s: string) => /^\d{1,20}$/.test(s);

function optionalString(body: Record<string, unknown>, field: string, max: number): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Invalid(field, 'must be a string');
  if (v.length > max) throw new Invalid(field, `must be at most ${max} characters`);
  return v;
}

export function registerMessageRoutes(router: Router, app: AppContext): void {
  router.get('/api/customers/:id/consents', async (ctx) => {
    ctx.body = await customerConsents(app.db, ctx.params.id);
  });

  router.put('/api/customers/:id/consents/:channel', async (ctx) => {
    const channel = ctx.params.channel as ConsentChannel;
    if (!CONSENT_CHANNELS.includes(channel)) throw new Invalid('channel', `must be one of ${CONSENT_CHANNELS.join(', ')}`);
    const body = await readJson(ctx);
    const status = body.status;
    if (status !== 'opted_out' && status !== 'opted_in') throw new Invalid('status', "must be 'opted_out' or 'opted_in'");
    const actor = optionalString(body, 'actor', 64)?.trim();
    if (!actor) throw new Invalid('actor', 'say who is making the change (a staff or admin name)');
    const note = optionalString(body, 'note', 500) ?? null;
    ctx.body = await setConsentByHand(app.db, { customerId: ctx.params.id, channel, status, actor, note }, app.now());
  });

  // { channel: 'sms' | 'email', text?, subject?, template?: { templateId, signName?, params? }, actor? } → the delivery
  router.post('/api/customers/:id/messages', async (ctx) => {
    const body = await readJson(ctx);
    const channel = body.channel;
    if (channel !== 'sms' && channel !== 'email') throw new Invalid('channel', "must be 'sms' or 'email'");
    const text = optionalString(body, 'text', 4000)?.trim();
    const subject = optionalString(body, 'subject', 200)?.trim();
    const actor = optionalString(body, 'actor', 64)?.trim() || 'admin';
    const template = body.template as { templateId?: unknown; signName?: unknown; params?: unknown } | undefined;
    if (template !== undefined && (template === null || typeof template !== 'object' || Array.isArray(template))) throw new Invalid('template', 'must be an object');
    const idempotencyKey = ctx.get('idempotency-key') || randomUUID();
    if (idempotencyKey.length > 100) throw new Invalid('Idempotency-Key', 'must be at most 100 characters');
    const { delivery, created } = await sendManualMessage(app.domain, { customerId: ctx.params.id, channel, text, subject, actor, template, idempotencyKey });
    ctx.status = created ? 202 : 200;
    ctx.body = delivery;
  });

  router.get('/api/deliveries', async (ctx) => {
    const status = str(ctx.query.status);
    if (status && !(DELIVERY_STATUSES as string[]).includes(status)) throw new Invalid('status', `must be one of ${DELIVERY_STATUSES.join(', ')}`);
    const channel = str(ctx.query.channel);
    if (channel && !['sms', 'email', 'wecom'].includes(channel)) throw new Invalid('channel', 'must be sms, email or wecom');
    const customerId = str(ctx.query.customerId);
    if (customerId && !isId(customerId)) throw new Invalid('customerId', 'must be a customer id');
    ctx.body = await listDeliveries(app.db, { customerId, status, channel, limit: parseLimit(str(ctx.query.limit)), cursor: str(ctx.query.cursor) });
  });

  router.get('/api/deliveries/:id', async (ctx) => {
    const d = await getDelivery(app.db, ctx.params.id);
    if (!d) throw new NotFound(`no delivery ${ctx.params.id}`);
    ctx.body = d;
  });
}
