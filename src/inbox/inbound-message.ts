// Processing a stored SMS/email item. A message: resolve the customer by phone or email (creating
// one if nobody matches — nothing is dropped) → thread email replies to our delivery → timeline
// entry → SMS opt-out/opt-in keywords into the consent ledger. A status report: move the delivery.
import type { InboundItem, InboundMessageItem } from '../../channels/channel';
import type { InboundEvent } from '../../entities';
import { recordConsent } from '../consent/consent';
import { fillCustomerBlanks, recordInboundActivity, resolveCustomer, touchCustomer, type IdentityRef } from '../customers/customers';
import { applyDeliveryStatus, findDeliveryByMessageIds } from '../sending/deliveries';
import type { Domain } from '../platform/domain';
import { PermanentError } from '../platform/errors';
import { normalizeEmail, normalizePhone } from '../customers/identity';
import { classifySmsKeyword } from '../consent/sms-keywords';
import { appendTimeline } from '../customers/timeline';
import { inTransaction } from '../platform/tx';

export async function processInboundItem(d: Domain, ev: InboundEvent, item: InboundItem): Promise<void> {
  if (item.type === 'status') {
    await inTransaction(d.db, (em) => applyDeliveryStatus(em, item, d.now()));
    return;
  }
  if (item.type === 'message') return processMessage(d, ev, item);
  throw new PermanentError(`unknown inbound item type ${(item as { type?: string }).type}`);
}

async function processMessage(d: Domain, ev: InboundEvent, m: InboundMessageItem): Promise<void> {
  const phone = normalizePhone(m.from.phone);
  const email = normalizeEmail(m.from.email);
  const identities: IdentityRef[] = [];
  if (phone) identities.push({ channel: 'phone', externalId: phone });
  if (email) identities.push({ channel: 'email', externalId: email });
  if (!identities.length) throw new PermanentError(`${m.channel} message from an address we cannot read`);
  const at = m.sentAt ? new Date(m.sentAt) : new Date(ev.receivedAt);
  const keyword = m.channel === 'sms' ? classifySmsKeyword(m.text) : null;

  await inTransaction(d.db, async (em) => {
    const now = d.now();
    // a reply to our email belongs to the customer we wrote to, whatever address it came from
    const thread = m.thread ? [m.thread.inReplyTo ?? '', ...[...(m.thread.references ?? [])].reverse()] : [];
    const repliedTo = thread.length ? await findDeliveryByMessageIds(em, thread) : null;
    const customerId = repliedTo ? repliedTo.customer_id : (await resolveCustomer(em, identities, at, now)).customerId;
    if (m.from.name) await fillCustomerBlanks(em, customerId, { name: m.from.name.slice(0, 128) });
    await appendTimeline(
      em,
      {
        customerId,
        channel: m.channel,
        direction: 'in',
        kind: 'message',
        text: m.subject ? `${m.subject}\n\n${m.text}` : m.text,
        occurredAt: at,
        staffUserId: null,
        providerId: m.dedupKey.slice(0, 191),
        inboundEventId: ev.id,
        data: {
          provider: m.provider,
          subject: m.subject,
          inReplyToDelivery: repliedTo?.id,
          attachments: m.attachments?.length ? m.attachments : undefined,
          messageId: m.thread?.messageId,
        },
      },
      now,
    );
    if (keyword) {
      await recordConsent(
        em,
        { customerId, channel: 'sms', action: keyword, source: 'sms_keyword', evidence: m.text, inboundEventId: ev.id, dedupKey: `inbound:${ev.id}`, occurredAt: at },
        now,
      );
    }
    await touchCustomer(em, customerId, at, true);
    await recordInboundActivity(em, customerId, at, now, d.lifecycle);
  });
}
