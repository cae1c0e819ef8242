// The WeCom dispatch table: (MsgType, Event, ChangeType) → one handler. `*` matches anything;
// the most specific key wins. An event with no handler is kept and marked processed.
import type { InboundEvent } from '../../../entities';
import { WeComApiError } from '../../../channels/wecom/errors';
import { text, type XmlObject } from '../../../channels/wecom/xml';
import type { Domain } from '../../platform/domain';
import { PermanentError } from '../../platform/errors';
import { appMessage } from './on-app-message';
import { externalContactRemoved } from './on-external-contact-removed';
import { externalContactUpsert } from './on-external-contact-changed';
import { externalTagChanged } from './on-corp-tag-changed';
import { kfMessage } from './on-kf-message';

export type WeComHandler = (d: Domain, ev: InboundEvent, msg: XmlObject) => Promise<void>;

export const WECOM_DISPATCH: Record<string, WeComHandler> = {
  'event/change_external_contact/add_external_contact': externalContactUpsert,
  'event/change_external_contact/add_half_external_contact': externalContactUpsert,
  'event/change_external_contact/edit_external_contact': externalContactUpsert,
  'event/change_external_contact/del_external_contact': externalContactRemoved,
  'event/change_external_contact/del_follow_user': externalContactRemoved,
  'event/change_external_tag/*': externalTagChanged,
  'event/kf_msg_or_event/*': kfMessage,
  'text/*/*': appMessage,
  'image/*/*': appMessage,
  'voice/*/*': appMessage,
  'video/*/*': appMessage,
  'location/*/*': appMessage,
  'link/*/*': appMessage,
};

export function findWeComHandler(msg: XmlObject): WeComHandler | null {
  const m = text(msg, 'MsgType') || '*';
  const e = text(msg, 'Event') || '*';
  const c = text(msg, 'ChangeType') || '*';
  const handler = WECOM_DISPATCH[`${m}/${e}/${c}`] ?? WECOM_DISPATCH[`${m}/${e}/*`] ?? WECOM_DISPATCH[`${m}/*/*`] ?? null;
  return handler && failPermanentlyOnApiRefusal(handler);
}

/**
 * WeCom answers that retrying cannot change (bad external_userid, no permission, IP not trusted,
 * bad secret...) fail the event at once, for an operator to fix and retry. System busy, frequency
 * limits and token errors (already refreshed and replayed once) stay retryable, as do network errors.
 */
function failPermanentlyOnApiRefusal(handler: WeComHandler): WeComHandler {
  return async (d, ev, msg) => {
    try {
      await handler(d, ev, msg);
    } catch (err) {
      if (err instanceof WeComApiError && !err.isTransient && !err.isTokenError) throw new PermanentError(err.message);
      throw err;
    }
  };
}
