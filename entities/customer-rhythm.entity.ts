import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Purchase rhythm of one customer, overall (category '') and per product category:
 * the median gap between purchase days and the date the next order is expected.
 */
@Entity('customer_rhythm')
@Index('idx_customer_rhythm_expected', ['category', 'expectedNextAt'])
@Index('idx_customer_rhythm_due', ['drives', 'expectedNextAt', 'customerId'])
export class CustomerRhythm {
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', unsigned: true })
  customerId!: string;

  /** '' = all categories */
  @PrimaryColumn({ type: 'varchar', length: 64, default: '' })
  category!: string;

  /** '' = the whole category; a SKU the customer bought on two or more orders has its own row */
  @PrimaryColumn({ type: 'varchar', length: 64, default: '' })
  sku!: string;

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

  /** units of this series in the last purchase */
  @Column({ name: 'last_quantity', type: 'int', unsigned: true, default: 1 })
  lastQuantity!: number;

  /** median gap between purchase days, in days (decimal string); null below two purchase days */
  @Column({ name: 'median_gap_days', type: 'decimal', precision: 8, scale: 2, nullable: true })
  medianGapDays!: string | null;

  /** days one unit lasts (robust median of gap ÷ units bought before it; or the category's prior) */
  @Column({ name: 'days_per_unit', type: 'decimal', precision: 8, scale: 2, nullable: true })
  daysPerUnit!: string | null;

  /** where days_per_unit comes from: 'own' gaps, the category's 'prior', or 'none' */
  @Column({ type: 'varchar', length: 8, default: 'none' })
  basis!: string;

  /** 1: the reorder sweep reads this row (see src/orders/rhythm.ts) */
  @Column({ type: 'tinyint', default: 0 })
  drives!: number;

  /** last_order_at + days_per_unit × last_quantity; null without days_per_unit */
  @Column({ name: 'expected_next_at', type: 'datetime', precision: 3, nullable: true })
  expectedNextAt!: Date | null;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}

/** A category's typical days per unit across customers with their own rhythm (the prior for single-order customers). */
@Entity('category_rhythm')
export class CategoryRhythm {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  category!: string;

  @Column({ type: 'int', unsigned: true })
  customers!: number;

  @Column({ name: 'days_per_unit', type: 'decimal', precision: 8, scale: 2 })
  daysPerUnit!: string;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
