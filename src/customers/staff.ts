// Staff members (WeCom members) as we meet them in events.
import type { EntityManager } from 'typeorm';

export async function ensureStaff(em: EntityManager, userIds: string[], now: Date): Promise<void> {
  const ids = [...new Set(userIds.filter(Boolean))];
  if (!ids.length) return;
  await em.query(
    `INSERT INTO staff_member (user_id, created_at, updated_at) VALUES ${ids.map(() => '(?, ?, ?)').join(',')} ON DUPLICATE KEY UPDATE user_id = user_id`,
    ids.flatMap((id) => [id, now, now]),
  );
}
