import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One real person, whatever channels we know them by. */
@Entity('customer')
export class Customer {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: string;

  @Index('idx_customer_name')
  @Column({ type: 'varchar', length: 128, nullable: true })
  name!: string | null;

  /** primary phone, E.164 */
  @Column({ type: 'varchar', length: 32, nullable: true })
  phone!: string | null;

  /** primary email, lower-cased */
  @Column({ type: 'varchar', length: 254, nullable: true })
  email!: string | null;

  /** `YYYY-MM-DD`, or `--MM-DD` when the year is unknown */
  @Column({ type: 'varchar', length: 10, nullable: true })
  birthday!: string | null;

  @Column({ type: 'varchar', length: 512, nullable: true })
  avatar!: string | null;

  /** WeCom: 0 unknown, 1 male, 2 female */
  @Column({ type: 'tinyint', nullable: true })
  gender!: number | null;

  @Column({ name: 'churn_risk', type: 'boolean', default: false })
  churnRisk!: boolean;

  @Column({ name: 'first_seen_at', type: 'datetime', precision: 3 })
  firstSeenAt!: Date;

  @Index('idx_customer_last_interaction')
  @Column({ name: 'last_interaction_at', type: 'datetime', precision: 3, nullable: true })
  lastInteractionAt!: Date | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
