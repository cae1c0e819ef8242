import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type Direction = 'in' | 'out' | 'internal';

/** One message or event on a customer's timeline; (channel, provider id) de-duplicates repeats. */
@Entity('timeline_entry')
@Index('uq_timeline_channel_provider', ['channel', 'providerId'], { unique: true })
@Index('idx_timeline_customer_time', ['customerId', 'occurredAt', 'id'])
export class TimelineEntry {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: string;

  @Column({ name: 'customer_id', type: 'bigint', unsigned: true })
  customerId!: string;

  /** wecom, wecom_kf, sms, email, shop, system */
  @Column({ type: 'varchar', length: 16 })
  channel!: string;

  @Column({ type: 'varchar', length: 8 })
  direction!: Direction;

  /** e.g. contact_added, contact_removed, text, image, order */
  @Column({ type: 'varchar', length: 48 })
  kind!: string;

  @Column({ type: 'text', nullable: true })
  text!: string | null;

  @Column({ name: 'occurred_at', type: 'datetime', precision: 3 })
  occurredAt!: Date;

  @Column({ name: 'staff_user_id', type: 'varchar', length: 64, nullable: true })
  staffUserId!: string | null;

  @Column({ name: 'provider_id', type: 'varchar', length: 191, nullable: true })
  providerId!: string | null;

  @Column({ name: 'inbound_event_id', type: 'bigint', unsigned: true, nullable: true })
  inboundEventId!: string | null;

  @Column({ type: 'json', nullable: true })
  data!: Record<string, unknown> | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}
