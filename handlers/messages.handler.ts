// /api consents, staff messages and deliveries: auth (router-level) → validate → domain → JSON.
import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import { findSmsProvider } from '../channels/sms';
import type { ConsentChannel } from '../entities';
import { DELIVERY_STATUSES } from '../entities';
import { CONSENT_CHANNELS, listConsents, recordConsent } from '../src/consent/consent';
import type { AppContext } from '../src/context';
import { createDelivery, getDelivery, listDeliveries, type DeliveryContent } from '../src/sending/deliveries';
import { Conflict, Invalid, NotFound } from '../src/platform/errors';
import { parseLimit } from '../src/platform/paging';
import { inTransaction } from '../src/platform/tx';
import { unsubscribeUrl } from '../src/consent/unsubscribe';
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
  const findCustomer = async (id: string) =>
    isId(id) ? ((await app.db.query('SELECT id, phone, email FROM customer WHERE id = ?', [id]))[0] as { id: string; phone: string | null; email: string | null } | undefined) : undefined;

  router.get('/api/customers/:id/consents', async (ctx) => {
    if (!(await findCustomer(ctx.params.id))) throw new NotFound(`no customer ${ctx.params.id}`);
    ctx.body = await listConsents(app.db, ctx.params.id);
  });

  router.put('/api/customers/:id/consents/:channel', async (ctx) => {
    const channel = ctx.params.channel as ConsentChannel;
    if (!CONSENT_CHANNELS.includes(channel)) throw new Invalid('channel', `must be one of ${CONSENT_CHANNELS.join(', ')}`);
    const body = await readJson(ctx);
    const status = body.status;
    if (status !== 'opted_out' && status !== 'opted_in') throw new Invalid('status', "must be 'opted_out' or 'opted_in'");
    const actor = optionalString(body, 'actor', 64)?.trim();
    if (!actor) throw new Invalid('actor', 'say who is making the change (a staff or admin name)');
    const note = optionalString(body, 'note', 500);
    if (!(await findCustomer(ctx.params.id))) throw new NotFound(`no customer ${ctx.params.id}`);
    await inTransaction(app.db, (em) =>
      recordConsent(
        em,
        { customerId: ctx.params.id, channel, action: status === 'opted_out' ? 'opt_out' : 'opt_in', source: 'manual', actor, evidence: note ?? null, occurredAt: app.now() },
        app.now(),
      ),
    );
    ctx.body = await listConsents(app.db, ctx.params.id);
  });

  router.post('/api/customers/:id/messages', async (ctx) => {
    const body = await readJson(ctx);
    const channel = body.channel;
    if (channel !== 'sms' && channel !== 'email') throw new Invalid('channel', "must be 'sms' or 'email'");
    const text = optionalString(body, 'text', 4000)?.trim();
    const subject = optionalString(body, 'subject', 200)?.trim();
    const actor = optionalString(body, 'actor', 64)?.trim() || 'admin';
    const template = body.template as { templateId?: unknown; signName?: unknown; params?: unknown } | undefined;
    if (template !== undefined && (template === null || typeof template !== 'object' || Array.isArray(template))) throw new Invalid('template', 'must be an object');
    const idempotency = ctx.get('idempotency-key') || randomUUID();
    if (idempotency.length > 100) throw new Invalid('Idempotency-Key', 'must be at most 100 characters');

    const customer = await findCustomer(ctx.params.id);
    if (!customer) throw new NotFound(`no customer ${ctx.params.id}`);
    const adapter = app.adapters[channel];
    if (!adapter) throw new Conflict('channel_off', `${channel} sending is not configured on this server`);

    let content: DeliveryContent;
    let to: string | null;
    if (channel === 'sms') {
      to = customer.phone;
      if (!to) throw new Conflict('no_address', 'the customer has no phone number');
      if (template) {
        const templateId = template.templateId;
        const params = template.params ?? [];
        if (typeof templateId !== 'string' || !templateId) throw new Invalid('template.templateId', 'is required');
        if (!Array.isArray(params) || !params.every((p) => typeof p === 'string')) throw new Invalid('template.params', 'must be an array of strings');
        const signName = typeof template.signName === 'string' && template.signName ? template.signName : (app.config.sms as { signName?: string | null }).signName;
        if (!signName) throw new Invalid('template.signName', 'is required (or set SMS_SIGN_NAME)');
        content = { text: text ?? params.join(' '), templateId, signName, params: params as string[] };
      } else {
        if (!text) throw new Invalid('text', 'give text or template');
        if (!findSmsProvider(adapter.provider)?.capabilities.freeText) throw new Invalid('template', `SMS through ${adapter.provider} needs a provider-approved template`);
        content = { text };
      }
    } else {
      to = customer.email;
      if (!to) throw new Conflict('no_address', 'the customer has no email address');
      if (!text) throw new Invalid('text', 'is required for email');
      content = { text, subject: subject || text.split('\n')[0].slice(0, 60) };
      const url = unsubscribeUrl(app.config.email, customer.id);
      if (url) content.unsubscribeUrl = url;
    }
    const { id, created } = await inTransaction(app.db, (em) =>
      createDelivery(
        em,
        {
          customerId: customer.id,
          channel,
          provider: adapter.provider,
          purpose: 'manual',
          marketing: false,
          idempotencyKey: `manual:${customer.id}:${idempotency}`,
          toAddress: to!,
          content,
          requestedBy: actor,
          messageIdDomain: (app.config.email as { messageIdDomain?: string }).messageIdDomain,
        },
        app.now(),
      ),
    );
    if (created) await app.enqueueSend(id);
    ctx.status = created ? 202 : 200;
    ctx.body = await getDelivery(app.db, id);
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
