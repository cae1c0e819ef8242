// PIPL rights: a customer's copy of everything we hold about them (export), and erasure. This room
// owns no table: it reads through, and erases by calling, each table's owner — in one transaction,
// under the customer's row lock, so a message processed at the same moment either lands before
// (and is erased) or after (and finds no identity: it makes a new customer).
import type { SendChannel } from '../../channels/channel';
import type { ConsentChannel } from '../../entities';
import { consentHistory, eraseConsentEvidence, optedOutChannels } from '../consent/consent';
import { suppressAddresses } from '../consent/suppression';
import { eraseCustomerRow, lockCustomer } from '../customers/customers';
import { deleteFollowsOf } from '../customers/follows';
import { fullTimeline, getProfile } from '../customers/profiles';
import { removeCustomerTags } from '../customers/tags';
import { eraseTimelineTexts } from '../customers/timeline';
import { eraseInboundPayloads, inboundEventsOf } from '../inbox/inbox';
import { ordersOf } from '../orders/orders';
import { couponsOf } from '../outreach/coupons';
import type { Domain } from '../platform/domain';
import { NotFound } from '../platform/errors';
import { inTransaction } from '../platform/tx';
import { deliveriesOf, eraseDeliveries } from '../sending/deliveries';

const isCustomerId = (id: string) => /^\d{1,20}$/.test(id);

/** GET /api/customers/:id/export: one JSON document with everything Touchpoint holds about the person. */
export async function exportCustomer(d: Domain, customerId: string) {
  const profile = isCustomerId(customerId) ? await getProfile(d.db, customerId) : null;
  if (!profile) throw new NotFound(`no customer ${customerId}`);
  const [consents, timeline, orders, coupons, deliveries, inboundEvents] = await Promise.all([
    consentHistory(d.db, customerId),
    fullTimeline(d.db, customerId),
    ordersOf(d.db, customerId),
    couponsOf(d.db, customerId),
    deliveriesOf(d.db, customerId),
    inboundEventsOf(d.db, customerId),
  ]);
  return { exportedAt: d.now().toISOString(), customer: profile, consents, timeline, orders, coupons, deliveries, inboundEvents };
}

export interface ErasureReport {
  customerId: string;
  erasedAt: string;
  /** addresses kept only as a one-way hash because the person had opted out there */
  suppressedAddresses: number;
  identitiesRemoved: number;
  inboundPayloadsErased: number;
  queuedDeliveriesCancelled: number;
}

/**
 * POST /api/customers/:id/erase. Removes the person's data everywhere: identities, name, phone,
 * email, birthday, notes, avatar; tags and follows; timeline texts; consent evidence; delivery
 * addresses and contents; the raw inbound payloads linked to them; queued sends. Keeps, without
 * identifying them: the customer row (anonymous, `erased_at`) with its orders, coupons and the
 * consent states, and a sha256 of each address they had opted out on, so they are never contacted
 * there again. Running it again changes nothing more.
 */
export async function eraseCustomer(d: Domain, customerId: string): Promise<ErasureReport> {
  if (!isCustomerId(customerId)) throw new NotFound(`no customer ${customerId}`);
  const done = await inTransaction(d.db, async (em) => {
    if (!(await lockCustomer(em, customerId))) return null;
    const now = d.now();
    const saidNo = new Set(await optedOutChannels(em, customerId));
    const held = await eraseCustomerRow(em, customerId, now);
    const addressesOn = (channel: ConsentChannel): string[] => {
      const fromIdentities = held.identities
        .filter((i) => (channel === 'sms' ? i.channel === 'phone' : channel === 'email' ? i.channel === 'email' : i.channel === 'wecom'))
        .map((i) => i.externalId);
      const primary = channel === 'sms' ? held.phone : channel === 'email' ? held.email : null;
      return [...new Set([...(primary ? [primary] : []), ...fromIdentities])];
    };
    const suppressed = [...saidNo].flatMap((channel) => addressesOn(channel).map((address) => ({ channel, address })));
    await suppressAddresses(em, suppressed, 'erased', now);
    const eventIds = await eraseTimelineTexts(em, customerId);
    await eraseConsentEvidence(em, customerId);
    await deleteFollowsOf(em, customerId);
    await removeCustomerTags(em, customerId);
    const queued = await eraseDeliveries(em, customerId, now);
    const payloads = await eraseInboundPayloads(em, customerId, eventIds);
    const [row] = await em.query(`SELECT erased_at FROM customer WHERE id = ?`, [customerId]);
    return { erasedAt: new Date(row.erased_at).toISOString(), suppressed: suppressed.length, identities: held.identities.length, payloads, queued };
  });
  if (!done) throw new NotFound(`no customer ${customerId}`);
  // after the commit: a queued send job would find its delivery suppressed anyway; this just clears it
  await d.outbound?.cancelSends?.(done.queued as { id: string; channel: SendChannel }[]);
  return {
    customerId,
    erasedAt: done.erasedAt,
    suppressedAddresses: done.suppressed,
    identitiesRemoved: done.identities,
    inboundPayloadsErased: done.payloads,
    queuedDeliveriesCancelled: done.queued.length,
  };
}
