// WeCom outbound: the one adapter for the three ways we message through WeCom.
//   wecom_mass    externalcontact/add_msg_template for one customer, sender = the staff member who owns
//                 them (WeCom only creates a task: the sender confirms it in the app), then message/send
//                 (text card from our app) telling the sender why. `sent` with the task's msgid; whether
//                 the customer got it is polled later (get_groupmsg_send_result).
//   wecom_welcome externalcontact/send_welcome_msg with the add event's WelcomeCode (20 s, single use).
//   wecom_app     message/send text card to staff members (alerts).
// WeCom errcodes become ProviderErrors: -1 / 45033 / token errors / transport failures are transient,
// 45009 is transient with the time its window still blocks the API, everything else is permanent;
// 41051 (another app already welcomed the customer) means "not sent, by the rules" → suppressed.
import { ProviderError, type ChannelAdapter, type OutboundWeCom, type SendResult } from '../channel';
import type { WeComApi } from './api';
import { WeComApiError, WeComTransportError } from './errors';

/** send_welcome_msg: the code was already used (by us or another app). Its 20 s being over (41050) is an ordinary permanent error. */
export const WELCOME_CODE_USED = 41051;

export class WeComAdapter implements ChannelAdapter<OutboundWeCom> {
  readonly channel = 'wecom' as const;
  readonly provider = 'wecom';

  constructor(private readonly api: WeComApi) {}

  async send(m: OutboundWeCom): Promise<SendResult> {
    try {
      switch (m.kind) {
        case 'wecom_mass':
          return await this.sendMass(m);
        case 'wecom_welcome':
          await this.api.sendWelcomeMsg({ welcome_code: m.welcomeCode, text: { content: m.text }, ...(m.attachments?.length ? { attachments: m.attachments } : {}) });
          return { providerRef: null, status: 'delivered' };
        case 'wecom_app': {
          const res = await this.api.sendAppTextCard({ touser: m.toStaff, title: m.title, description: m.description, url: m.url });
          const invalid = (res.invaliduser ?? '').split('|').filter(Boolean);
          if (invalid.length && invalid.length >= m.toStaff.length) throw new ProviderError(`wecom: no such member in the app's range: ${invalid.join(', ')}`, 'invaliduser', true);
          return { providerRef: res.msgid ?? null, status: 'sent' };
        }
      }
    } catch (err) {
      throw toProviderError(err);
    }
  }

  private async sendMass(m: Extract<OutboundWeCom, { kind: 'wecom_mass' }>): Promise<SendResult> {
    const res = await this.api.addMsgTemplate({
      chat_type: 'single',
      external_userid: [m.externalUserId],
      sender: m.sender,
      text: { content: m.text },
      ...(m.attachments?.length ? { attachments: m.attachments } : {}),
    });
    if ((res.fail_list ?? []).includes(m.externalUserId)) {
      throw new ProviderError(`wecom: ${m.sender} cannot send to this customer (not a contact any more)`, 'fail_list', true);
    }
    const result: SendResult = { providerRef: res.msgid, status: 'sent' };
    if (m.staffCard && this.api.canMessageStaff) {
      // the task exists now: a failing card must not fail (and so repeat) the task, it is noted instead
      try {
        await this.api.sendAppTextCard({ touser: [m.sender], ...m.staffCard });
      } catch (err) {
        result.note = { code: 'staff_card_failed', text: (err as Error).message.slice(0, 500) };
      }
    }
    return result;
  }
}

export function toProviderError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof WeComApiError) {
    const code = String(err.code);
    if (err.code === WELCOME_CODE_USED) return new ProviderError(`wecom: ${err.apiMessage || 'welcome code already used'}`, code, true, undefined, true);
    if (err.code === 45009) return new ProviderError(`wecom: frequency limit on ${err.path}`, code, false, err.retryAfterMs ?? 60_000);
    if (err.isTransient || err.isTokenError) return new ProviderError(`wecom: ${err.message}`, code, false);
    return new ProviderError(`wecom: ${err.message}`, code, true);
  }
  if (err instanceof WeComTransportError) return new ProviderError(err.message, err.status ? `http_${err.status}` : 'unreachable', false);
  return new ProviderError((err as Error)?.message ?? String(err), 'error', false);
}
