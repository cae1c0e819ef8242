import { Customer } from './customer.entity';
import { CustomerFollow } from './customer-follow.entity';
import { CustomerIdentity } from './customer-identity.entity';
import { CustomerTag } from './customer-tag.entity';
import { InboundEvent } from './inbound-event.entity';
import { StaffMember } from './staff-member.entity';
import { Tag } from './tag.entity';
import { TimelineEntry } from './timeline-entry.entity';
import { WecomKfCursor } from './wecom-kf-cursor.entity';
import { ConsentEvent, CustomerConsent } from './consent.entity';
import { Delivery } from './delivery.entity';
import { Init1764028800000 } from './migrations/1764028800000-init';
import { Channels1764115200000 } from './migrations/1764115200000-channels';

export * from './consent.entity';
export * from './customer.entity';
export * from './delivery.entity';
export * from './customer-follow.entity';
export * from './customer-identity.entity';
export * from './customer-tag.entity';
export * from './inbound-event.entity';
export * from './staff-member.entity';
export * from './tag.entity';
export * from './timeline-entry.entity';
export * from './wecom-kf-cursor.entity';

export const ENTITIES = [Customer, CustomerFollow, CustomerIdentity, CustomerTag, InboundEvent, StaffMember, Tag, TimelineEntry, WecomKfCursor, Delivery, ConsentEvent, CustomerConsent];
export const MIGRATIONS = [Init1764028800000, Channels1764115200000];
