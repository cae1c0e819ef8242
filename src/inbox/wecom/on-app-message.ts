// A member's message to our app (text, image, voice, video, location, link; see WECOM_DISPATCH in
// wecom-dispatch.ts): the entry point for staff commands. There are none yet, so it does nothing on
// purpose: the stored inbound event is the record, and it is marked processed. A staff command (e.g.
// asking for a customer's card) goes here: read msg (FromUserName is the member's userid, Content the
// text), call the domain, and answer with a delivery to the member (src/sending/deliveries.ts, then
// d.outbound.enqueueSend), as the staff alerts do.
import type { InboundEvent } from '../../../entities';
import type { XmlObject } from '../../../channels/wecom/xml';
import type { Domain } from '../../platform/domain';

export async function appMessage(_d: Domain, _ev: InboundEvent, _msg: XmlObject): Promise<void> {
  // nothing to do yet: the event row itself is the record
}
