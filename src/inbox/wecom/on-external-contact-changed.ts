// add_external_contact / edit_external_contact / add_half_external_contact:
// fetch the contact from WeCom → resolve the customer by every identity → refresh name, follows and tags → timeline entry.
import type { InboundEvent } from '../../../entities';
import type { ExternalContact, FollowUser } from '../../../channels/wecom/api';
import { WeComApiError } from '../../../channels/wecom/errors';
import { text, type XmlObject } from '../../../channels/wecom/xml';
import { resolveCustomer, setChurnRisk, touchCustomer, updateCustomer, type IdentityRef } from '../../customers/customers';
import type { Domain } from '../../platform/domain';
import { PermanentError } from '../../platform/errors';
import { isFollowActive, upsertFollow } from '../../customers/follows';
import { normalizePhone } from '../../customers/identity';
import { ensureStaff } from '../../customers/staff';
import { replaceStaffWecomTags, upsertWecomTag } from '../../customers/tags';
import { appendTimeline } from '../../customers/timeline';
import { inTransaction } from '../../platform/tx';
import { eventProviderId, occurredAt } from './event-time';

const KIND: Record<string, string> = {
  add_external_contact: 'contact_added',
  add_half_external_contact: 'contact_added_half',
  edit_external_contact: 'contact_edited',
};

/** WeCom says there is no relation any more (or never was): keep what the event itself tells us. */
const NO_RELATION = new Set([84061]);

/** Changes that (re)establish the event's relation; an edit only refreshes what we know. */
const ADDS = new Set(['add_external_contact', 'add_half_external_contact']);

export async function externalContactUpsert(d: Domain, ev: InboundEvent, msg: XmlObject): Promise<void> {
  const externalUserId = text(msg, 'ExternalUserID');
  const staffUserId = text(msg, 'UserID');
  const changeType = text(msg, 'ChangeType');
  if (!externalUserId) throw new PermanentError(`${changeType} without ExternalUserID`);
  if (!d.wecom?.contact) throw new PermanentError('WECOM_CONTACT_SECRET is not configured: cannot fetch the contact');
  // the welcome first: its code lives 20 s, so it must not wait behind externalcontact/get (src/welcome.ts)
  const welcomeCode = text(msg, 'WelcomeCode');
  if (changeType === 'add_external_contact' && welcomeCode && d.outbound) {
    await d.outbound.enqueueWelcome({ eventId: ev.id, welcomeCode, externalUserId, staffUserId, receivedAt: new Date(ev.receivedAt) });
  }

  let contact: ExternalContact = { external_userid: externalUserId };
  let follows: FollowUser[] = [];
  try {
    const res = await d.wecom.getExternalContact(externalUserId);
    contact = res.external_contact ?? contact;
    follows = res.follow_user ?? [];
  } catch (err) {
    if (!(err instanceof WeComApiError && NO_RELATION.has(err.code))) throw err;
    d.log.warn({ eventId: ev.id, code: err.code }, 'contact no longer related; storing the event without enrichment');
  }

  const at = occurredAt(msg, ev);
  const isAdd = ADDS.has(changeType);
  const groupOfTag = await corpTagGroups(d, follows);
  const identities: IdentityRef[] = [{ channel: 'wecom', externalId: externalUserId }];
  if (contact.unionid) identities.push({ channel: 'wechat_unionid', externalId: contact.unionid });
  for (const f of follows) for (const m of f.remark_mobiles ?? []) {
    const phone = normalizePhone(m);
    if (phone) identities.push({ channel: 'phone', externalId: phone });
  }

  await inTransaction(d.db, async (em) => {
    const now = d.now();
    const { customerId } = await resolveCustomer(em, identities, at, now);
    await updateCustomer(em, customerId, { name: contact.name, avatar: contact.avatar, gender: contact.gender }, now);
    await ensureStaff(em, [staffUserId, ...follows.map((f) => f.userid)], now);
    for (const f of follows) {
      await upsertFollow(
        em,
        {
          customerId,
          staffUserId: f.userid,
          remark: f.remark || null,
          description: f.description || null,
          addWay: f.add_way ?? null,
          addState: f.state || null,
          addedAt: f.createtime ? new Date(f.createtime * 1000) : null,
        },
        at,
        now,
        { reactivate: isAdd && f.userid === staffUserId },
      );
      const tagIds: string[] = [];
      for (const t of f.tags ?? []) {
        if (!t.tag_name) continue;
        const wecomId = t.tag_id || `name:${t.group_name ?? ''}/${t.tag_name}`;
        tagIds.push(await upsertWecomTag(em, { wecomId, name: t.tag_name, groupName: t.group_name || null, wecomGroupId: t.tag_id ? groupOfTag.get(t.tag_id) : null }, now));
      }
      await replaceStaffWecomTags(em, customerId, f.userid, tagIds, now);
    }
    // the customer is reachable again only when this add left the relation active (not a late add)
    if (isAdd && staffUserId && (await isFollowActive(em, customerId, staffUserId))) await setChurnRisk(em, customerId, false, now);
    const who = staffUserId || 'a staff member';
    await appendTimeline(
      em,
      {
        customerId,
        channel: 'wecom',
        direction: 'internal',
        kind: KIND[changeType] ?? changeType,
        text:
          changeType === 'edit_external_contact'
            ? `${who} edited the contact`
            : changeType === 'add_half_external_contact'
              ? `added ${who} (not yet confirmed by staff)`
              : `${who} added the customer`,
        occurredAt: at,
        staffUserId: staffUserId || null,
        providerId: eventProviderId(ev),
        inboundEventId: ev.id,
        data: { state: text(msg, 'State') || undefined, welcomeCode: text(msg, 'WelcomeCode') ? true : undefined },
      },
      now,
    );
    await touchCustomer(em, customerId, at, changeType !== 'edit_external_contact');
  });
}

/**
 * The WeCom group id of each corp tag on the follows that we do not know yet. externalcontact/get
 * names a tag's group but not its id, and a deleted tag group arrives as its id only; without
 * the id those tags would stay on profiles after their group is gone. Best effort: the contact
 * is stored without group ids when get_corp_tag_list fails.
 */
async function corpTagGroups(d: Domain, follows: FollowUser[]): Promise<Map<string, string>> {
  const groups = new Map<string, string>();
  const ids = [...new Set(follows.flatMap((f) => (f.tags ?? []).map((t) => t.tag_id).filter((id): id is string => !!id)))];
  if (!ids.length || !d.wecom?.contact) return groups;
  const known: { wecom_id: string; wecom_group_id: string }[] = await d.db.query(
    `SELECT wecom_id, wecom_group_id FROM tag WHERE source = 'wecom' AND wecom_group_id IS NOT NULL AND wecom_id IN (${ids.map(() => '?').join(',')})`,
    ids,
  );
  for (const k of known) groups.set(k.wecom_id, k.wecom_group_id);
  const missing = ids.filter((id) => !groups.has(id));
  if (!missing.length) return groups;
  try {
    for (const g of await d.wecom.getCorpTagList({ tag_id: missing })) for (const t of g.tag ?? []) groups.set(t.id, g.group_id);
  } catch (err) {
    d.log.warn({ err: (err as Error).message, tags: missing.length }, 'could not read corp tag groups; storing the tags without group ids');
  }
  return groups;
}
