// Staff alerts: when a customer deletes a staff member (del_follow_user), that staff member gets an
// app message (message/send text card) naming the customer and what happened with them lately (the
// newest timeline lines before the removal), so they can decide whether to reach out another way.
// One delivery per event (key `staff-alert:<event id>`): a repeated event alerts once.
import type { EntityManager } from 'typeorm';
import { cardDescription, createDelivery } from './deliveries';

const HISTORY_LINES = 5;

const WHO: Record<string, string> = { in: '客户', out: '我们', internal: '' };

export interface StaffAlertInput {
  eventId: string;
  customerId: string;
  staffUserId: string;
  /** when the customer removed the staff member */
  at: Date;
  timeZone: string;
}

/** Creates the alert delivery in the caller's transaction; returns its id when this call created it. */
export async function createRemovalAlert(em: EntityManager, a: StaffAlertInput, now: Date): Promise<string | null> {
  const [who] = await em.query(
    `SELECT c.name, c.phone, f.remark FROM customer c LEFT JOIN customer_follow f ON f.customer_id = c.id AND f.staff_user_id = ? WHERE c.id = ?`,
    [a.staffUserId, a.customerId],
  );
  const name: string = who?.remark || who?.name || (who?.phone ? `尾号${String(who.phone).slice(-4)}的客户` : '一位客户');
  const history: { channel: string; direction: string; kind: string; text: string | null; occurred_at: Date }[] = await em.query(
    `SELECT channel, direction, kind, text, occurred_at FROM timeline_entry
      WHERE customer_id = ? AND (inbound_event_id IS NULL OR inbound_event_id <> ?)
      ORDER BY occurred_at DESC, id DESC LIMIT ?`,
    [a.customerId, a.eventId, HISTORY_LINES],
  );
  const when = new Intl.DateTimeFormat('zh-CN', { timeZone: a.timeZone, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const lines = history.map((e) => {
    const who = WHO[e.direction] ?? '';
    const what = (e.text ?? `[${e.kind}]`).replace(/\s+/g, ' ').slice(0, 60);
    return `${when.format(new Date(e.occurred_at))} ${who ? `${who}：` : ''}${what}`;
  });
  const title = `${name} 删除了你`.slice(0, 128);
  const description = cardDescription([when.format(a.at), `${name}刚刚把你从微信好友中删除。`, ...(lines.length ? ['最近的记录：', ...lines] : ['之前没有记录。'])]);
  const { id, created } = await createDelivery(
    em,
    {
      customerId: a.customerId,
      channel: 'wecom',
      provider: 'wecom_app',
      purpose: 'staff_alert',
      marketing: false,
      idempotencyKey: `staff-alert:${a.eventId}`,
      toAddress: a.staffUserId,
      staffUserId: a.staffUserId,
      content: { text: `${title}\n${lines.join('\n')}`.trim(), card: { title, description } },
      requestedBy: 'system',
      onTimeline: false,
    },
    now,
  );
  return created ? id : null;
}
