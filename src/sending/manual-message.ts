// A message staff write to one customer (POST /api/customers/:id/messages): the customer's address on
// the channel, the content that channel needs — an SMS through a provider-approved template (or free
// text where the provider takes it), an email with a subject and the unsubscribe link — then one
// delivery row per idempotency key, queued to send. Transactional: no consent or quiet-hours skip.
import { findSmsProvider } from '../../channels/sms';
import { unsubscribeUrl } from '../consent/unsubscribe';
import { findCustomerContact } from '../customers/profiles';
import type { Domain } from '../platform/domain';
import { Conflict, Invalid, NotFound } from '../platform/errors';
import { inTransaction } from '../platform/tx';
import { createDelivery, getDelivery, type DeliveryContent, type DeliveryView } from './deliveries';

export interface ManualMessage {
  customerId: string;
  channel: 'sms' | 'email';
  /** trimmed; required for email and for free-text SMS */
  text?: string;
  subject?: string;
  actor: string;
  /** an SMS provider template: { templateId, signName?, params? } (shapes checked here) */
  template?: { templateId?: unknown; signName?: unknown; params?: unknown };
  /** the caller's Idempotency-Key (a repeat answers the first delivery) */
  idempotencyKey: string;
}

/**
 * Makes (or finds again) the delivery and queues it when new. Refuses with NotFound (no customer),
 * Conflict `channel_off` / `no_address`, or Invalid naming the field that is missing or wrong.
 */
export async function sendManualMessage(deps: Domain, m: ManualMessage): Promise<{ delivery: DeliveryView; created: boolean }> {
  const { channel, text, subject, template } = m;
  const customer = await findCustomerContact(deps.db, m.customerId);
  if (!customer) throw new NotFound(`no customer ${m.customerId}`);
  const adapter = deps.adapters[channel];
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
      const signName = typeof template.signName === 'string' && template.signName ? template.signName : deps.sending.smsSignName;
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
    const url = unsubscribeUrl(deps.sending.email, customer.id);
    if (url) content.unsubscribeUrl = url;
  }
  const address = to;
  const { id, created } = await inTransaction(deps.db, (em) =>
    createDelivery(
      em,
      {
        customerId: customer.id,
        channel,
        provider: adapter.provider,
        purpose: 'manual',
        marketing: false,
        idempotencyKey: `manual:${customer.id}:${m.idempotencyKey}`,
        toAddress: address,
        content,
        requestedBy: m.actor,
        messageIdDomain: deps.sending.email.messageIdDomain ?? undefined,
      },
      deps.now(),
    ),
  );
  if (created) await deps.outbound!.enqueueSend(id);
  return { delivery: (await getDelivery(deps.db, id))!, created };
}
