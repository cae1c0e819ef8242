import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Purchase rhythm of one customer, overall (category '') and per product category:
 * the median gap between purchase days and the date the next order is expected.
 */
@Entity('customer_rhythm')
@Index('idx_customer_rhythm_expected', ['category', 'expectedNextAt'])
export class CustomerRhythm {
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', unsigned: true })
  customerId!: string;

  /** '' = all categories */
  @PrimaryColumn({ type: 'varchar', length: 64, default: '' })
  category!: string;

  /** orders that contained this category */
  @Column({ name: 'order_count', type: 'int', unsigned: true })
  orderCount!: number;

  @Column({ name: 'last_order_at', type: 'datetime', precision: 3 })
  lastOrderAt!: Date;

  /** shop_order.id of the latest order in this category (reorder idempotency key) */
  @Column({ name: 'last_order_id', type: 'bigint', unsigned: true })
  lastOrderId!: string;

  /** item name from that order */
  @Column({ name: 'last_product', type: 'varchar', length: 255, nullable: true })
  lastProduct!: string | null;

  /** median gap between purchase days, in days (decimal string); null below two purchase days */
  @Column({ name: 'median_gap_days', type: 'decimal', precision: 8, scale: 2, nullable: true })
  medianGapDays!: string | null;

  /** last_order_at + median gap; null when the median is */
  @Column({ name: 'expected_next_at', type: 'datetime', precision: 3, nullable: true })
  expectedNextAt!: Date | null;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
