// The welcome message: an add_external_contact event with a WelcomeCode → externalcontact/send_welcome_msg
// with the `welcome` campaign's WeCom text, within the code's 20-second life, at most once per event.
//
// The inbound job enqueues it (high priority, its own queue) BEFORE it asks WeCom for the contact, so
// the welcome never queues behind that round trip or a mass-send backlog. The delivery row needs the
// customer, and the customer is stored by the inbound job (only it may merge identities: the contact's
// remark mobiles can point at a customer we already know), so the welcome waits for that row — a
// customer seen before is there at once; a new one a moment later — but at most WAIT_FOR_CONTACT_MS
// after the event reached us. Then: one delivery row (key `welcome:<event id>`, coupon if the campaign
// has a rule) → the normal send (consent checked; 41051 ends it suppressed, 41050 failed, never retried).
// A disabled or missing campaign, or one without WeCom, sends nothing.
import type { Domain } from '../platform/domain';
import { generateCouponCode, issueCoupons } from './coupons';
import { WECOM_WELCOME } from '../sending/contact-policy';
import { createDelivery, findDeliveryIdByKey } from '../sending/deliveries';
import { getCampaign } from './campaigns';
import { renderFor } from './render';
import { addDays, localDate, zonedTime } from '../platform/store-time';
import { inTransaction } from '../platform/tx';

export const WAIT_FOR_CONTACT_MS = 10_000;

export interface WelcomeRequest {
  eventId: string;
  welcomeCode: string;
  externalUserId: string;
  staffUserId: string;
  /** when the event reached us (ms since epoch) */
  receivedAt: number;
}

export type WelcomePlan = { deliveryId: string } | { skip: 'campaign_off' | 'contact_not_stored' };

export const welcomeKey = (eventId: string) => `welcome:${eventId}`;

/** The delivery row for this event's welcome (made once), or why there is none. */
export async function prepareWelcome(deps: Domain, w: WelcomeRequest): Promise<WelcomePlan> {
  const existing = await findDeliveryIdByKey(deps.db, welcomeKey(w.eventId));
  if (existing) return { deliveryId: existing };
  const campaign = await getCampaign(deps.db, 'welcome');
  if (!campaign.enabled || !campaign.channels.includes('wecom') || !campaign.templates.wecom) return { skip: 'campaign_off' };

  const deadline = w.receivedAt + WAIT_FOR_CONTACT_MS;
  let customer: { id: string; name: string | null } | undefined;
  for (;;) {
    [customer] = await deps.db.query(
      `SELECT c.id, c.name FROM customer_identity i JOIN customer c ON c.id = i.customer_id WHERE i.channel = 'wecom' AND i.external_id = ?`,
      [w.externalUserId],
    );
    if (customer || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!customer) return { skip: 'contact_not_stored' };
  const customerId = String(customer.id);

  const { id } = await inTransaction(deps.db, async (em) => {
    const now = deps.now();
    const today = localDate(now, deps.timeZone);
    const rule = campaign.coupon;
    const coupon = rule
      ? {
          code: generateCouponCode(rule.prefix),
          value: rule.value.toFixed(2),
          lastValidDay: addDays(today, rule.validDays - 1),
          expiresAt: zonedTime(addDays(today, rule.validDays), deps.timeZone),
        }
      : null;
    const content = renderFor(
      campaign,
      'wecom',
      { name: customer!.name, lastProduct: null, store: deps.storeName, coupon: coupon ? { code: coupon.code, value: String(Number(coupon.value)), expiresAt: coupon.lastValidDay } : null },
      null,
    );
    const made = await createDelivery(
      em,
      {
        customerId,
        channel: 'wecom',
        provider: WECOM_WELCOME,
        purpose: 'welcome',
        marketing: true,
        idempotencyKey: welcomeKey(w.eventId),
        toAddress: w.externalUserId,
        staffUserId: w.staffUserId || null,
        content: { ...content, welcomeCode: w.welcomeCode },
        requestedBy: 'campaign:welcome',
      },
      now,
    );
    if (made.created && coupon) {
      await issueCoupons(em, [{ code: coupon.code, deliveryId: made.id, customerId, campaign: 'welcome', value: coupon.value, expiresAt: coupon.expiresAt, lastValidDay: coupon.lastValidDay }], now);
    }
    return made;
  });
  return { deliveryId: id };
}
