import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { TagSource } from './tag.entity';

/** A tag on a customer; WeCom tags are kept per staff member (each follow has its own tag set). */
@Entity('customer_tag')
@Index('idx_customer_tag_tag', ['tagId', 'customerId'])
export class CustomerTag {
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', unsigned: true })
  customerId!: string;

  @PrimaryColumn({ name: 'tag_id', type: 'bigint', unsigned: true })
  tagId!: string;

  /** the staff member whose follow carries the tag; '' when not per-staff */
  @PrimaryColumn({ name: 'staff_user_id', type: 'varchar', length: 64, default: '' })
  staffUserId!: string;

  @Column({ type: 'varchar', length: 8 })
  source!: TagSource;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}
