import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type InboundStatus = 'received' | 'processed' | 'failed';

/** The durable inbox: every acknowledged callback, stored before we answer, under a unique de-dup key. */
@Entity('inbound_event')
@Index('idx_inbound_status_received', ['status', 'receivedAt'])
@Index('idx_inbound_channel_id', ['channel', 'id'])
export class InboundEvent {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  channel!: string;

  /** e.g. `event/change_external_contact/add_external_contact`, `text` */
  @Column({ type: 'varchar', length: 96 })
  type!: string;

  @Column({ name: 'dedup_key', type: 'varchar', length: 191, unique: true })
  dedupKey!: string;

  /** the customer the payload was about (set when processed; PIPL erasure and export find it by this) */
  @Column({ name: 'customer_id', type: 'bigint', unsigned: true, nullable: true })
  customerId!: string | null;

  @Column({ type: 'varchar', length: 12, default: 'received' })
  status!: InboundStatus;

  @Column({ type: 'int', default: 0 })
  attempts!: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ type: 'json' })
  payload!: Record<string, unknown>;

  @Column({ name: 'received_at', type: 'datetime', precision: 3 })
  receivedAt!: Date;

  @Column({ name: 'processed_at', type: 'datetime', precision: 3, nullable: true })
  processedAt!: Date | null;
}
