import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type DeliveryStatus = 'queued' | 'sent' | 'delivered' | 'failed' | 'suppressed';
export const DELIVERY_STATUSES: DeliveryStatus[] = ['queued', 'sent', 'delivered', 'failed', 'suppressed'];

/** One outbound message: one row, one idempotency key, from queued to its end state. */
@Entity('delivery')
@Index('idx_delivery_customer', ['customerId', 'id'])
@Index('idx_delivery_status', ['status', 'channel', 'id'])
@Index('idx_delivery_provider_ref', ['provider', 'providerRef'])
@Index('idx_delivery_customer_counted', ['customerId', 'countedAt'])
export class Delivery {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: string;

  @Column({ name: 'customer_id', type: 'bigint', unsigned: true })
  customerId!: string;

  /** sms | email | wecom */
  @Column({ type: 'varchar', length: 8 })
  channel!: string;

  @Column({ type: 'varchar', length: 16 })
  provider!: string;

  /** manual, transactional, welcome, birthday, reorder, winback … */
  @Column({ type: 'varchar', length: 24 })
  purpose!: string;

  @Column({ type: 'boolean', default: false })
  marketing!: boolean;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 191, unique: true })
  idempotencyKey!: string;

  @Column({ type: 'varchar', length: 12 })
  status!: DeliveryStatus;

  /** phone (E.164) or email address the message went to */
  @Column({ name: 'to_address', type: 'varchar', length: 254 })
  toAddress!: string;

  /** what was rendered: text, subject, html, template id, sign name, params */
  @Column({ type: 'json' })
  content!: Record<string, unknown>;

  @Column({ name: 'provider_ref', type: 'varchar', length: 191, nullable: true })
  providerRef!: string | null;

  /** our RFC 5322 Message-ID for email (threading replies back) */
  @Index('idx_delivery_message_id')
  @Column({ name: 'message_id', type: 'varchar', length: 191, nullable: true })
  messageId!: string | null;

  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true })
  errorCode!: string | null;

  @Column({ name: 'error_text', type: 'text', nullable: true })
  errorText!: string | null;

  @Column({ type: 'int', default: 0 })
  attempts!: number;

  /** who asked for it: an admin/staff name, or the campaign */
  @Column({ name: 'requested_by', type: 'varchar', length: 64, nullable: true })
  requestedBy!: string | null;

  /** not sent before this instant (a send due in quiet hours waits for the next window) */
  @Column({ name: 'not_before', type: 'datetime', precision: 3, nullable: true })
  notBefore!: Date | null;

  /** when an automated message passed the contact policy; the per-customer caps count these */
  @Column({ name: 'counted_at', type: 'datetime', precision: 3, nullable: true })
  countedAt!: Date | null;

  /** WeCom: the staff member who sends it (add_msg_template sender) or who is told (app message) */
  @Column({ name: 'staff_user_id', type: 'varchar', length: 64, nullable: true })
  staffUserId!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;

  @Column({ name: 'sent_at', type: 'datetime', precision: 3, nullable: true })
  sentAt!: Date | null;

  @Column({ name: 'delivered_at', type: 'datetime', precision: 3, nullable: true })
  deliveredAt!: Date | null;

  @Column({ name: 'failed_at', type: 'datetime', precision: 3, nullable: true })
  failedAt!: Date | null;
}
