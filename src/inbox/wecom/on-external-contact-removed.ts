// del_external_contact (staff removed the customer) / del_follow_user (the customer removed staff):
// resolve the customer → end the follow, noting who ended it → mark churn risk → timeline entry.
import type { InboundEvent } from '../../../entities';
import { text, type XmlObject } from '../../../channels/wecom/xml';
import { resolveCustomer, setChurnRisk, touchCustomer } from '../../customers/customers';
import type { Domain } from '../../platform/domain';
import { PermanentError } from '../../platform/errors';
import { endFollow } from '../../customers/follows';
import { createRemovalAlert } from '../../sending/staff-alerts';
import { ensureStaff } from '../../customers/staff';
import { appendTimeline } from '../../customers/timeline';
import { inTransaction } from '../../platform/tx';
import { eventProviderId, occurredAt } from './event-time';

export async function externalContactRemoved(d: Domain, ev: InboundEvent, msg: XmlObject): Promise<void> {
  const externalUserId = text(msg, 'ExternalUserID');
  const staffUserId = text(msg, 'UserID');
  const changeType = text(msg, 'ChangeType');
  if (!externalUserId || !staffUserId) throw new PermanentError(`${changeType} needs both UserID and ExternalUserID`);
  const byCustomer = changeType === 'del_follow_user';
  // 在职继承: WeCom deletes the old relation itself when a customer is handed to another member
  const byTransfer = text(msg, 'Source') === 'DELETE_BY_TRANSFER';
  const at = occurredAt(msg, ev);

  // the staff member the customer removed is told (an app message), when our app can message staff
  const alertStaff = byCustomer && d.outbound && d.wecom?.canMessageStaff;
  const alertId = await inTransaction(d.db, async (em) => {
    const now = d.now();
    const { customerId } = await resolveCustomer(em, [{ channel: 'wecom', externalId: externalUserId }], at, now);
    await ensureStaff(em, [staffUserId], now);
    await endFollow(em, customerId, staffUserId, at, byCustomer ? 'customer' : 'staff', now);
    if (!byTransfer) await setChurnRisk(em, customerId, true, now);
    await appendTimeline(
      em,
      {
        customerId,
        channel: 'wecom',
        direction: 'internal',
        kind: byCustomer ? 'contact_removed_by_customer' : 'contact_removed_by_staff',
        text: byCustomer
          ? `the customer removed ${staffUserId}`
          : byTransfer
            ? `${staffUserId}'s relation ended by transfer to another member`
            : `${staffUserId} removed the customer`,
        occurredAt: at,
        staffUserId,
        providerId: eventProviderId(ev),
        inboundEventId: ev.id,
        data: byTransfer ? { source: 'DELETE_BY_TRANSFER' } : null,
      },
      now,
    );
    await touchCustomer(em, customerId, at, false);
    return alertStaff ? createRemovalAlert(em, { eventId: ev.id, customerId, staffUserId, at, timeZone: d.timeZone }, now) : null;
  });
  if (alertId) await d.outbound!.enqueueSend(alertId);
}
