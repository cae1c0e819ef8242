import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type FollowStatus = 'active' | 'ended';
export type FollowEndedBy = 'staff' | 'customer';

/** The WeCom relation between one staff member and one customer (follow_user). */
@Entity('customer_follow')
@Index('uq_follow_customer_staff', ['customerId', 'staffUserId'], { unique: true })
@Index('idx_follow_staff_status', ['staffUserId', 'status'])
export class CustomerFollow {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: string;

  @Column({ name: 'customer_id', type: 'bigint', unsigned: true })
  customerId!: string;

  @Column({ name: 'staff_user_id', type: 'varchar', length: 64 })
  staffUserId!: string;

  @Column({ type: 'varchar', length: 128, nullable: true })
  remark!: string | null;

  @Column({ type: 'varchar', length: 512, nullable: true })
  description!: string | null;

  /** WeCom add_way code (0 unknown, 1 QR code, 2 phone search, ...) */
  @Column({ name: 'add_way', type: 'int', nullable: true })
  addWay!: number | null;

  /** the 「联系我」 state the customer came through (channel attribution) */
  @Column({ name: 'add_state', type: 'varchar', length: 64, nullable: true })
  addState!: string | null;

  @Column({ type: 'varchar', length: 8, default: 'active' })
  status!: FollowStatus;

  @Column({ name: 'added_at', type: 'datetime', precision: 3, nullable: true })
  addedAt!: Date | null;

  @Column({ name: 'ended_at', type: 'datetime', precision: 3, nullable: true })
  endedAt!: Date | null;

  @Column({ name: 'ended_by', type: 'varchar', length: 8, nullable: true })
  endedBy!: FollowEndedBy | null;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
