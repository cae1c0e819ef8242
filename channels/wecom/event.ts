// What identifies one decrypted WeCom callback, read from its XML alone: the type it is stored under
// and the de-dup key a redelivery repeats. Pure functions, so the webhook route computes both without
// reaching into the domain (src/inbox/wecom/ dispatches on the same three fields when it processes).
import { sha256Hex } from './crypto';
import { text, type XmlObject } from './xml';

/** The event type we store: `MsgType[/Event[/ChangeType]]`, e.g. `event/change_external_contact/add_external_contact`. */
export function wecomEventType(msg: XmlObject): string {
  return [text(msg, 'MsgType'), text(msg, 'Event'), text(msg, 'ChangeType')].filter(Boolean).join('/');
}

/** De-dup key: MsgId for messages; for events a hash of every field (a redelivery decrypts to the same fields). */
export function wecomDedupKey(msg: XmlObject): string {
  const msgId = text(msg, 'MsgId');
  if (msgId) return `wecom:msg:${msgId}`;
  const canonical = JSON.stringify(Object.keys(msg).sort().map((k) => [k, msg[k]]));
  return `wecom:evt:${sha256Hex(canonical)}`;
}
