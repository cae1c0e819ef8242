import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const IDENTITY_CHANNELS = ['wecom', 'wechat_unionid', 'phone', 'email'] as const;
export type IdentityChannel = (typeof IDENTITY_CHANNELS)[number];

/** One way to reach or recognise a customer: (channel, external id) points at exactly one customer. */
@Entity('customer_identity')
@Index('uq_identity_channel_external', ['channel', 'externalId'], { unique: true })
export class CustomerIdentity {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: string;

  @Index('idx_identity_customer')
  @Column({ name: 'customer_id', type: 'bigint', unsigned: true })
  customerId!: string;

  @Column({ type: 'varchar', length: 32 })
  channel!: IdentityChannel;

  @Column({ name: 'external_id', type: 'varchar', length: 191 })
  externalId!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}
