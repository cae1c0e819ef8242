// The outcome of WeCom mass-message tasks. add_msg_template only creates a task: the staff member
// confirms it in WeCom, and WeCom may still refuse a customer (no longer a contact, or they already
// got a mass message that day). So sent WeCom deliveries are asked about with
// get_groupmsg_send_result (one call per task and sender) until they end:
//   status 1 → delivered (at send_time)   2 → failed `not_contact`   3 → failed `wecom_mass_daily`
//   still 0 after WECOM_POLL_MAX_AGE_HOURS → failed `not_confirmed` (the staff member never sent it)
import type { GroupMsgSendItem } from '../../channels/wecom/api';
import { WeComApiError } from '../../channels/wecom/errors';
import { WECOM_MASS } from './contact-policy';
import type { Domain } from '../platform/domain';

export interface TaskPollResult {
  asked: number;
  delivered: number;
  failed: number;
  pending: number;
}

const FAILED: Record<number, { code: string; text: string }> = {
  2: { code: 'not_contact', text: 'WeCom: the customer is no longer a contact of the sender' },
  3: { code: 'wecom_mass_daily', text: 'WeCom: the customer already received a mass message that day' },
};

/** One polling round over every WeCom task still `sent`; safe to run twice (only `sent` rows move). */
export async function pollMassTaskResults(deps: Domain, now: Date, opts: { maxAgeHours: number; batch?: number }): Promise<TaskPollResult> {
  const result: TaskPollResult = { asked: 0, delivered: 0, failed: 0, pending: 0 };
  if (!deps.wecom?.contact) return result;
  const oldest = new Date(now.getTime() - opts.maxAgeHours * 3600_000);
  // tasks nobody confirmed in time
  const expired = await deps.db.query(
    `UPDATE delivery SET status = 'failed', failed_at = ?, error_code = 'not_confirmed', error_text = ?, updated_at = ?
      WHERE status = 'sent' AND channel = 'wecom' AND provider = ? AND sent_at < ?`,
    [now, `the staff member did not send the WeCom task within ${opts.maxAgeHours} h`, now, WECOM_MASS, oldest],
  );
  result.failed += Number(expired.affectedRows ?? 0);

  const rows: { id: string; provider_ref: string; staff_user_id: string; to_address: string }[] = await deps.db.query(
    `SELECT id, provider_ref, staff_user_id, to_address FROM delivery
      WHERE status = 'sent' AND channel = 'wecom' AND provider = ? AND provider_ref IS NOT NULL AND staff_user_id IS NOT NULL
      ORDER BY id LIMIT ?`,
    [WECOM_MASS, opts.batch ?? 5000],
  );
  const tasks = new Map<string, typeof rows>();
  for (const r of rows) {
    const key = `${r.provider_ref}\u0000${r.staff_user_id}`;
    tasks.set(key, [...(tasks.get(key) ?? []), r]);
  }
  for (const group of tasks.values()) {
    const { provider_ref: msgid, staff_user_id: sender } = group[0];
    let items: GroupMsgSendItem[];
    try {
      items = await deps.wecom.getGroupMsgSendResult(msgid, sender);
      result.asked++;
    } catch (err) {
      deps.log.warn({ msgid, sender, err: (err as Error).message }, 'could not read a WeCom task result; asking again next round');
      // a frequency limit applies to every task: stop this round
      if (err instanceof WeComApiError && err.code === 45009) break;
      continue;
    }
    const byCustomer = new Map(items.filter((i) => i.external_userid).map((i) => [i.external_userid!, i]));
    for (const r of group) {
      const item = byCustomer.get(r.to_address);
      const status = Number(item?.status ?? 0);
      if (status === 1) {
        const at = item?.send_time ? new Date(item.send_time * 1000) : now;
        await deps.db.query(
          `UPDATE delivery SET status = 'delivered', delivered_at = ?, error_code = NULL, error_text = NULL, updated_at = ? WHERE id = ? AND status = 'sent'`,
          [at, now, r.id],
        );
        result.delivered++;
      } else if (FAILED[status]) {
        await deps.db.query(
          `UPDATE delivery SET status = 'failed', failed_at = ?, error_code = ?, error_text = ?, updated_at = ? WHERE id = ? AND status = 'sent'`,
          [now, FAILED[status].code, FAILED[status].text, now, r.id],
        );
        result.failed++;
      } else {
        result.pending++;
      }
    }
  }
  return result;
}
