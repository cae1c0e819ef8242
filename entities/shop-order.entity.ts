import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type OrderSource = 'webhook' | 'import';
export const ORDER_STATUSES = ['paid', 'partially_refunded', 'refunded', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

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

  /** paid, partially_refunded, refunded or cancelled (src/orders/orders.ts) */
  @Column({ type: 'varchar', length: 20, default: 'paid' })
  status!: OrderStatus;

  /** decimal as a string: what has been refunded so far */
  @Column({ name: 'refunded_amount', type: 'decimal', precision: 12, scale: 2, default: '0.00' })
  refundedAmount!: string;

  /** generated: total − refunded, 0 once refunded or cancelled — what revenue, stats and attribution count */
  @Column({ name: 'net_total', type: 'decimal', precision: 12, scale: 2, insert: false, update: false })
  netTotal!: string;

  @Column({ name: 'status_changed_at', type: 'datetime', precision: 3, nullable: true })
  statusChangedAt!: Date | null;

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

  /** units refunded by refund events naming this SKU (they leave the rhythm) */
  @Column({ name: 'refunded_quantity', type: 'int', default: 0 })
  refundedQuantity!: number;
}

/** One refund of an order (idempotent on the shop's refund id). */
@Entity('shop_order_refund')
@Index('uq_shop_order_refund', ['shopOrderId', 'refundId'], { unique: true })
export class ShopOrderRefund {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: string;

  @Column({ name: 'shop_order_id', type: 'bigint', unsigned: true })
  shopOrderId!: string;

  @Column({ name: 'refund_id', type: 'varchar', length: 64 })
  refundId!: string;

  @Column({ type: 'decimal', precision: 12, scale: 2 })
  amount!: string;

  /** [{ sku, quantity }] when the refund names items */
  @Column({ type: 'json', nullable: true })
  items!: { sku: string; quantity: number }[] | null;

  @Column({ name: 'refunded_at', type: 'datetime', precision: 3 })
  refundedAt!: Date;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}
