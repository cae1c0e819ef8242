import type { XmlObject } from '../../../channels/wecom/xml';

/** The stored payload of a WeCom event is the decrypted XML as an object of strings. */
export function parseWeComPayload(payload: Record<string, unknown>): XmlObject {
  return payload as XmlObject;
}
