import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** One campaign's settings (welcome | birthday | reorder | winback): the JSON GET/PUT /api/campaigns/:kind show. */
@Entity('campaign')
export class Campaign {
  @PrimaryColumn({ type: 'varchar', length: 16 })
  kind!: string;

  @Column({ type: 'json' })
  config!: Record<string, unknown>;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;

  @Column({ name: 'updated_by', type: 'varchar', length: 64, nullable: true })
  updatedBy!: string | null;
}

/** A coupon issued with one campaign delivery; an order redeems it once. */
@Entity('coupon')
@Index('idx_coupon_campaign_created', ['campaign', 'createdAt'])
export class Coupon {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: string;

  /** prefix + 10 random characters (Crockford base32), never derived from an id */
  @Column({ type: 'varchar', length: 32, unique: true })
  code!: string;

  /** generated: the code as compared — upper-case, no spaces or dashes, O→0, I/L→1 */
  @Column({ name: 'code_key', type: 'varchar', length: 32, unique: true, insert: false, update: false })
  codeKey!: string;

  @Column({ name: 'delivery_id', type: 'bigint', unsigned: true, unique: true })
  deliveryId!: string;

  @Index('idx_coupon_customer')
  @Column({ name: 'customer_id', type: 'bigint', unsigned: true })
  customerId!: string;

  @Column({ type: 'varchar', length: 16 })
  campaign!: string;

  /** decimal as a string, e.g. '20.00' */
  @Column({ type: 'decimal', precision: 10, scale: 2 })
  value!: string;

  /** the order total it needs (decimal string); null: none */
  @Column({ name: 'min_spend', type: 'decimal', precision: 10, scale: 2, nullable: true })
  minSpend!: string | null;

  /** first instant it no longer works (the start of the store-local day after its last valid day) */
  @Column({ name: 'expires_at', type: 'datetime', precision: 3 })
  expiresAt!: Date;

  @Column({ name: 'redeemed_at', type: 'datetime', precision: 3, nullable: true })
  redeemedAt!: Date | null;

  /** shop_order.id of the order that redeemed it */
  @Column({ name: 'redeemed_order_id', type: 'bigint', unsigned: true, nullable: true })
  redeemedOrderId!: string | null;

  @Index('idx_coupon_redeemed_order_ref')
  /** the shop's order id that redeemed it (a till redemption knows it before the order arrives) */
  @Column({ name: 'redeemed_order_ref', type: 'varchar', length: 64, nullable: true })
  redeemedOrderRef!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}

/** Who a real sweep considered (by the delivery's idempotency key) and what became of them. */
@Entity('campaign_candidate')
@Index('idx_campaign_candidate_date', ['campaign', 'sweepDate'])
export class CampaignCandidate {
  @PrimaryColumn({ name: 'idempotency_key', type: 'varchar', length: 191 })
  idempotencyKey!: string;

  @Column({ type: 'varchar', length: 16 })
  campaign!: string;

  @Index('idx_campaign_candidate_customer')
  @Column({ name: 'customer_id', type: 'bigint', unsigned: true })
  customerId!: string;

  /** the store-local day of the sweep that first considered them */
  @Column({ name: 'sweep_date', type: 'date' })
  sweepDate!: string;

  /** 'delivery' when a delivery was created, else the skip reason (no_address, opted_out, …) */
  @Column({ type: 'varchar', length: 24 })
  outcome!: string;

  @Column({ name: 'delivery_id', type: 'bigint', unsigned: true, nullable: true })
  deliveryId!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
