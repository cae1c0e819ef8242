// The outcome of WeCom mass-message tasks. add_msg_template only creates a task: the staff member
// confirms it in WeCom, and WeCom may still refuse a customer (no longer a contact, or they already
// got a mass message that day). So sent WeCom deliveries are asked about with
// get_groupmsg_send_result (one call per task and sender) until they end:
//   status 1 → delivered (at send_time)   2 → failed `not_contact`   3 → failed `wecom_mass_daily`
//   still 0 after WECOM_POLL_MAX_AGE_HOURS → failed `not_confirmed` (the staff member never sent it)
import type { GroupMsgSendItem } from '../../channels/wecom/api';
import { WeComApiError } from '../../channels/wecom/errors';
import { expireUnconfirmedMassTasks, recordMassTaskResult, sentMassTasks } from './deliveries';
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
  result.failed += await expireUnconfirmedMassTasks(deps.db, now, oldest, `the staff member did not send the WeCom task within ${opts.maxAgeHours} h`);

  const rows = await sentMassTasks(deps.db, opts.batch ?? 5000);
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
        await recordMassTaskResult(deps.db, r.id, { status: 'delivered', at: item?.send_time ? new Date(item.send_time * 1000) : now }, now);
        result.delivered++;
      } else if (FAILED[status]) {
        await recordMassTaskResult(deps.db, r.id, { status: 'failed', ...FAILED[status] }, now);
        result.failed++;
      } else {
        result.pending++;
      }
    }
  }
  return result;
}
