// kf_msg_or_event (WeChat customer service): under a per-account lock, pull new messages with
// kf/sync_msg from the cursor kept in MySQL → put each on its customer's timeline (msgid de-duplicates) → save the cursor.
import type { InboundEvent } from '../../../entities';
import type { KfMessage } from '../../../channels/wecom/api';
import { text, type XmlObject } from '../../../channels/wecom/xml';
import { recordInboundActivity, resolveCustomer, touchCustomer } from '../../customers/customers';
import type { Domain } from '../../platform/domain';
import { PermanentError } from '../../platform/errors';
import { ensureStaff } from '../../customers/staff';
import { appendTimeline } from '../../customers/timeline';
import { inTransaction } from '../../platform/tx';

const MAX_PAGES = 50;

export async function kfMessage(d: Domain, _ev: InboundEvent, msg: XmlObject): Promise<void> {
  const openKfId = text(msg, 'OpenKfId');
  const token = text(msg, 'Token');
  if (!openKfId) throw new PermanentError('kf_msg_or_event without OpenKfId');
  if (!d.wecom?.kf) throw new PermanentError('WECOM_KF_SECRET (or WECOM_AGENT_SECRET) is not configured: cannot pull customer-service messages');

  const lock = d.db.createQueryRunner();
  await lock.connect();
  const lockName = `touchpoint:kf:${openKfId}`;
  try {
    const [row] = await lock.query('SELECT GET_LOCK(?, 30) AS got', [lockName]);
    if (Number(row?.got) !== 1) throw new Error(`another worker holds the sync lock for ${openKfId}`);
    try {
      const [cur] = await d.db.query('SELECT next_cursor FROM wecom_kf_cursor WHERE open_kfid = ?', [openKfId]);
      let cursor: string | undefined = cur?.next_cursor || undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const res = await d.wecom.kfSyncMsg({ open_kfid: openKfId, cursor, token: token || undefined, limit: 1000 });
        const messages = res.msg_list ?? [];
        await inTransaction(d.db, async (em) => {
          const now = d.now();
          for (const m of messages) await storeKfMessage(d, em, m, now);
          if (res.next_cursor) {
            await em.query(
              `INSERT INTO wecom_kf_cursor (open_kfid, next_cursor, updated_at) VALUES (?, ?, ?)
               ON DUPLICATE KEY UPDATE next_cursor = VALUES(next_cursor), updated_at = VALUES(updated_at)`,
              [openKfId, res.next_cursor, now],
            );
          }
        });
        if (res.next_cursor) cursor = res.next_cursor;
        if (Number(res.has_more ?? 0) !== 1) break;
      }
    } finally {
      await lock.query('SELECT RELEASE_LOCK(?)', [lockName]);
    }
  } finally {
    await lock.release();
  }
}

const DIRECTION: Record<number, 'in' | 'out' | 'internal'> = { 3: 'in', 4: 'internal', 5: 'out' };

async function storeKfMessage(d: Domain, em: Parameters<Parameters<typeof inTransaction>[1]>[0], m: KfMessage, now: Date): Promise<void> {
  const externalUserId = m.external_userid || eventField(m, 'external_userid');
  if (!externalUserId) return; // system events with no customer (e.g. servicer status changes)
  const at = new Date(Number(m.send_time) * 1000);
  const { customerId } = await resolveCustomer(em, [{ channel: 'wecom', externalId: externalUserId }], at, now);
  if (m.servicer_userid) await ensureStaff(em, [m.servicer_userid], now);
  const direction = DIRECTION[m.origin] ?? 'internal';
  const kind = m.msgtype === 'event' ? `kf_${eventField(m, 'event_type') || 'event'}` : m.msgtype;
  await appendTimeline(
    em,
    {
      customerId,
      channel: 'wecom_kf',
      direction,
      kind: kind.slice(0, 48),
      text: summarise(m),
      occurredAt: at,
      staffUserId: m.servicer_userid || eventField(m, 'servicer_userid') || null,
      providerId: m.msgid,
      data: { open_kfid: m.open_kfid, origin: m.origin, [m.msgtype]: m[m.msgtype] },
    },
    now,
  );
  await touchCustomer(em, customerId, at, direction === 'in');
  if (direction === 'in') await recordInboundActivity(em, customerId, at, now, d.lifecycle);
}

function eventField(m: KfMessage, key: string): string {
  const e = m.event as Record<string, unknown> | undefined;
  return typeof e?.[key] === 'string' ? (e[key] as string) : '';
}

function summarise(m: KfMessage): string {
  const payload = (m[m.msgtype] ?? {}) as Record<string, unknown>;
  switch (m.msgtype) {
    case 'text':
      return String(payload.content ?? '');
    case 'link':
      return `[link] ${String(payload.title ?? '')} ${String(payload.url ?? '')}`.trim();
    case 'location':
      return `[location] ${String(payload.name ?? '')} ${String(payload.address ?? '')}`.trim();
    case 'event':
      return `[event] ${eventField(m, 'event_type')}`;
    default:
      return `[${m.msgtype}]`;
  }
}
