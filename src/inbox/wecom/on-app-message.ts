// A member's message to our app (text, image, ...): kept as a processed event; staff commands come later.
import type { InboundEvent } from '../../../entities';
import type { XmlObject } from '../../../channels/wecom/xml';
import type { Domain } from '../../platform/domain';

export async function appMessage(_d: Domain, _ev: InboundEvent, _msg: XmlObject): Promise<void> {
  // nothing to do yet: the event row itself is the record
}
