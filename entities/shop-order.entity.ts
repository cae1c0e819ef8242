import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type OrderSource = 'webhook' | 'import';

/** One order from the shop (webhook or CSV import), unique by the shop's order id. */
@Entity('shop_order')
@Index('idx_shop_order_customer_placed', ['customerId', 'placedAt'])
export class ShopOrder {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: string;

  /** the shop's own order id */
  @Column({ name: 'order_id', type: 'varchar', length: 64, unique: true })
  orderId!: string;

  @Column({ name: 'customer_id', type: 'bigint', unsigned: true })
  customerId!: string;

  /** decimal as a string, e.g. '128.00' */
  @Column({ type: 'decimal', precision: 12, scale: 2 })
  total!: string;

  /** ISO 4217, upper-case */
  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ name: 'placed_at', type: 'datetime', precision: 3 })
  placedAt!: Date;

  @Index('idx_shop_order_coupon')
  @Column({ name: 'coupon_code', type: 'varchar', length: 64, nullable: true })
  couponCode!: string | null;

  /** the delivery whose coupon this order redeemed (set by coupon redemption) */
  @Index('idx_shop_order_attributed')
  @Column({ name: 'attributed_delivery_id', type: 'bigint', unsigned: true, nullable: true })
  attributedDeliveryId!: string | null;

  /** 'webhook' (live) or 'import' (history: updates rhythm and lifecycle only) */
  @Column({ type: 'varchar', length: 8, default: 'webhook' })
  source!: OrderSource;

  @Column({ name: 'inbound_event_id', type: 'bigint', unsigned: true, nullable: true })
  inboundEventId!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}

/** One line of an order. */
@Entity('shop_order_item')
@Index('uq_shop_order_item_line', ['shopOrderId', 'line'], { unique: true })
export class ShopOrderItem {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: string;

  /** shop_order.id (ours, not the shop's order id) */
  @Column({ name: 'shop_order_id', type: 'bigint', unsigned: true })
  shopOrderId!: string;

  /** 1-based position in the order */
  @Column({ type: 'smallint', unsigned: true })
  line!: number;

  @Column({ type: 'varchar', length: 64 })
  sku!: string;

  @Column({ type: 'varchar', length: 255 })
  name!: string;

  /** '' when the shop gives none */
  @Column({ type: 'varchar', length: 64, default: '' })
  category!: string;

  @Column({ type: 'int' })
  quantity!: number;

  /** unit price, decimal as a string */
  @Column({ type: 'decimal', precision: 12, scale: 2 })
  price!: string;
}
