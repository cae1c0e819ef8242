// change_external_tag: create/update → read the tag or group from get_corp_tag_list and mirror it;
// delete → mark the tag (or the group's tags) deleted; shuffle (reorder only) → nothing to keep.
import type { InboundEvent } from '../../../entities';
import { text, type XmlObject } from '../../../channels/wecom/xml';
import type { Domain } from '../../platform/domain';
import { PermanentError } from '../../platform/errors';
import { markWecomTagsDeleted, upsertWecomTag } from '../../customers/tags';
import { inTransaction } from '../../platform/tx';

export async function externalTagChanged(d: Domain, _ev: InboundEvent, msg: XmlObject): Promise<void> {
  const changeType = text(msg, 'ChangeType');
  const id = text(msg, 'Id');
  const isGroup = text(msg, 'TagType') === 'tag_group';
  if (changeType === 'shuffle') return;
  if (!id) throw new PermanentError(`change_external_tag/${changeType} without Id`);

  if (changeType === 'delete') {
    await inTransaction(d.db, (em) => markWecomTagsDeleted(em, isGroup ? { groupId: id } : { tagId: id }, d.now()));
    return;
  }
  if (!d.wecom?.contact) throw new PermanentError('WECOM_CONTACT_SECRET is not configured: cannot read corp tags');
  const groups = await d.wecom.getCorpTagList(isGroup ? { group_id: [id] } : { tag_id: [id] });
  await inTransaction(d.db, async (em) => {
    const now = d.now();
    for (const g of groups) {
      for (const t of g.tag ?? []) {
        if (t.deleted) await markWecomTagsDeleted(em, { tagId: t.id }, now);
        else await upsertWecomTag(em, { wecomId: t.id, name: t.name, groupName: g.group_name, wecomGroupId: g.group_id }, now);
      }
    }
  });
}
