// The follow relation between a staff member and a customer.
import type { EntityManager } from 'typeorm';
import type { FollowEndedBy } from '../../entities';

export interface FollowInfo {
  customerId: string;
  staffUserId: string;
  remark: string | null;
  description: string | null;
  addWay: number | null;
  addState: string | null;
  addedAt: Date | null;
}

/**
 * Records a follow as WeCom reports it at `observedAt`. With `reactivate` (an add event for this
 * very staff member) an ended follow becomes active again, unless we saw it end after
 * `observedAt`: a late add must not undo a newer removal. Without it (edits, and the other staff
 * members externalcontact/get lists) only the details are refreshed: WeCom still lists a member
 * the customer removed (the one-way relation), which must not make that follow active.
 * A follow we never saw is inserted as active either way.
 */
export async function upsertFollow(em: EntityManager, f: FollowInfo, observedAt: Date, now: Date, opts: { reactivate: boolean }): Promise<void> {
  const keepEnded = '(NOT ? OR (ended_at IS NOT NULL AND ended_at > ?))';
  await em.query(
    `INSERT INTO customer_follow (customer_id, staff_user_id, remark, description, add_way, add_state, status, added_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?)
     ON DUPLICATE KEY UPDATE remark = VALUES(remark), description = VALUES(description), add_way = VALUES(add_way),
       add_state = COALESCE(VALUES(add_state), add_state), added_at = COALESCE(VALUES(added_at), added_at),
       ended_by = IF(${keepEnded}, ended_by, NULL),
       status = IF(${keepEnded}, status, 'active'),
       ended_at = IF(${keepEnded}, ended_at, NULL),
       updated_at = VALUES(updated_at)`,
    [
      f.customerId, f.staffUserId, f.remark, f.description, f.addWay, f.addState, f.addedAt, now,
      opts.reactivate, observedAt, opts.reactivate, observedAt, opts.reactivate, observedAt,
    ],
  );
}

/** True when the follow exists and is active. */
export async function isFollowActive(em: EntityManager, customerId: string, staffUserId: string): Promise<boolean> {
  const [row] = await em.query(`SELECT status FROM customer_follow WHERE customer_id = ? AND staff_user_id = ?`, [customerId, staffUserId]);
  return row?.status === 'active';
}

/** Ends the follow (creating an ended one if we never saw it start). */
export async function endFollow(em: EntityManager, customerId: string, staffUserId: string, endedAt: Date, endedBy: FollowEndedBy, now: Date): Promise<void> {
  await em.query(
    `INSERT INTO customer_follow (customer_id, staff_user_id, status, ended_at, ended_by, updated_at) VALUES (?, ?, 'ended', ?, ?, ?)
     ON DUPLICATE KEY UPDATE status = 'ended', ended_at = VALUES(ended_at), ended_by = VALUES(ended_by), updated_at = VALUES(updated_at)`,
    [customerId, staffUserId, endedAt, endedBy, now],
  );
}

/** PIPL erasure: the customer's follow relations (with the staff's remarks and descriptions) go. */
export async function deleteFollowsOf(em: EntityManager, customerId: string): Promise<void> {
  await em.query(`DELETE FROM customer_follow WHERE customer_id = ?`, [customerId]);
}
