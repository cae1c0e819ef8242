// Tags: WeCom corp tags mirrored by WeCom id (renames and deletes follow them), and the tags on
// each customer, kept per staff member for WeCom (every follow has its own tag set).
import type { EntityManager } from 'typeorm';

export interface WecomTagRef {
  /** WeCom tag id, or a stable key for personal tags that have none */
  wecomId: string;
  name: string;
  groupName: string | null;
  wecomGroupId?: string | null;
}

/** Inserts or refreshes a WeCom tag; returns our tag id. */
export async function upsertWecomTag(em: EntityManager, t: WecomTagRef, now: Date): Promise<string> {
  const res = await em.query(
    `INSERT INTO tag (source, wecom_id, name, group_name, wecom_group_id, deleted, updated_at) VALUES ('wecom', ?, ?, ?, ?, 0, ?)
     ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), name = VALUES(name), group_name = VALUES(group_name),
       wecom_group_id = COALESCE(VALUES(wecom_group_id), wecom_group_id), deleted = 0, updated_at = VALUES(updated_at)`,
    [t.wecomId, t.name, t.groupName, t.wecomGroupId ?? null, now],
  );
  return String(res.insertId);
}

/** Makes the WeCom tags that `staffUserId` has on the customer exactly `tagIds`. */
export async function replaceStaffWecomTags(em: EntityManager, customerId: string, staffUserId: string, tagIds: string[], now: Date): Promise<void> {
  const keep = tagIds.length ? ` AND tag_id NOT IN (${tagIds.map(() => '?').join(',')})` : '';
  await em.query(`DELETE FROM customer_tag WHERE customer_id = ? AND staff_user_id = ? AND source = 'wecom'${keep}`, [customerId, staffUserId, ...tagIds]);
  if (!tagIds.length) return;
  await em.query(
    `INSERT INTO customer_tag (customer_id, tag_id, staff_user_id, source, created_at) VALUES ${tagIds.map(() => "(?, ?, ?, 'wecom', ?)").join(',')}
     ON DUPLICATE KEY UPDATE source = source`,
    tagIds.flatMap((id) => [customerId, id, staffUserId, now]),
  );
}

export async function markWecomTagsDeleted(em: EntityManager, by: { tagId?: string; groupId?: string }, now: Date): Promise<number> {
  const res = by.tagId
    ? await em.query(`UPDATE tag SET deleted = 1, updated_at = ? WHERE source = 'wecom' AND wecom_id = ?`, [now, by.tagId])
    : await em.query(`UPDATE tag SET deleted = 1, updated_at = ? WHERE source = 'wecom' AND wecom_group_id = ?`, [now, by.groupId]);
  return Number(res.affectedRows ?? 0);
}

/**
 * Our own tag (source 'manual', e.g. from a customer import) by name. Its wecom_id is
 * `manual:<name>` — never a WeCom id — so the unique key makes concurrent imports share one row.
 */
export async function upsertManualTag(em: EntityManager, name: string, now: Date): Promise<string> {
  const res = await em.query(
    `INSERT INTO tag (source, wecom_id, name, group_name, wecom_group_id, deleted, updated_at) VALUES ('manual', ?, ?, NULL, NULL, 0, ?)
     ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), deleted = 0, updated_at = VALUES(updated_at)`,
    [`manual:${name}`, name, now],
  );
  return String(res.insertId);
}

/** Adds manual tags to a customer (kept apart from WeCom's per-staff tags: staff_user_id ''). */
export async function addManualTags(em: EntityManager, customerId: string, tagIds: string[], now: Date): Promise<void> {
  if (!tagIds.length) return;
  await em.query(
    `INSERT INTO customer_tag (customer_id, tag_id, staff_user_id, source, created_at) VALUES ${tagIds.map(() => "(?, ?, '', 'manual', ?)").join(',')}
     ON DUPLICATE KEY UPDATE source = source`,
    tagIds.flatMap((id) => [customerId, id, now]),
  );
}

/** PIPL erasure: every tag on the customer goes (the tags themselves stay: they are the shop's). */
export async function removeCustomerTags(em: EntityManager, customerId: string): Promise<void> {
  await em.query(`DELETE FROM customer_tag WHERE customer_id = ?`, [customerId]);
}
