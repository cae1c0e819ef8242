import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

export type ConsentChannel = 'sms' | 'email' | 'wecom';
export type ConsentAction = 'opt_out' | 'opt_in';

/** The consent ledger: every opt-out and opt-in, with where it came from and what caused it. */
@Entity('consent_event')
@Index('idx_consent_event_customer', ['customerId', 'channel', 'id'])
export class ConsentEvent {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: string;

  @Column({ name: 'customer_id', type: 'bigint', unsigned: true })
  customerId!: string;

  @Column({ type: 'varchar', length: 8 })
  channel!: ConsentChannel;

  @Column({ type: 'varchar', length: 8 })
  action!: ConsentAction;

  /** sms_keyword, email_unsubscribe, manual, provider … */
  @Column({ type: 'varchar', length: 24 })
  source!: string;

  /** who did it for manual changes */
  @Column({ type: 'varchar', length: 64, nullable: true })
  actor!: string | null;

  /** the words that caused it (the SMS text, "List-Unsubscribe one-click", a note) */
  @Column({ type: 'text', nullable: true })
  evidence!: string | null;

  @Column({ name: 'inbound_event_id', type: 'bigint', unsigned: true, nullable: true })
  inboundEventId!: string | null;

  /** de-duplicates repeats of the same cause (e.g. the same SMS delivered twice) */
  @Column({ name: 'dedup_key', type: 'varchar', length: 191, nullable: true, unique: true })
  dedupKey!: string | null;

  @Column({ name: 'occurred_at', type: 'datetime', precision: 3 })
  occurredAt!: Date;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  /** the address the word was about (normalised: E.164 phone, lower-cased email); null = the channel on the customer */
  @Column({ type: 'varchar', length: 254, nullable: true })
  address!: string | null;

  /** sha256 (hex) of `address` */
  @Column({ name: 'address_hash', type: 'char', length: 64, nullable: true })
  addressHash!: string | null;
}

/** Current consent per customer and channel (the newest ledger entry wins). */
@Entity('customer_consent')
export class CustomerConsent {
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', unsigned: true })
  customerId!: string;

  @PrimaryColumn({ type: 'varchar', length: 8 })
  channel!: ConsentChannel;

  /** opted_in | opted_out */
  @Column({ type: 'varchar', length: 12 })
  status!: 'opted_in' | 'opted_out';

  @Column({ name: 'changed_at', type: 'datetime', precision: 3 })
  changedAt!: Date;

  @Column({ name: 'last_event_id', type: 'bigint', unsigned: true })
  lastEventId!: string;
}

/**
 * Current consent per channel and address, whoever holds the address now or later. Keyed by the
 * sha256 of the normalised address; `address` itself may be erased (PIPL) while the hash keeps the no.
 */
@Entity('address_consent')
export class AddressConsent {
  @PrimaryColumn({ type: 'varchar', length: 8 })
  channel!: ConsentChannel;

  @PrimaryColumn({ name: 'address_hash', type: 'char', length: 64 })
  addressHash!: string;

  @Column({ type: 'varchar', length: 254, nullable: true })
  address!: string | null;

  /** opted_in | opted_out */
  @Column({ type: 'varchar', length: 12 })
  status!: 'opted_in' | 'opted_out';

  /** what set the current state: sms_keyword, email_unsubscribe, manual, merge … */
  @Column({ type: 'varchar', length: 24 })
  source!: string;

  @Column({ name: 'changed_at', type: 'datetime', precision: 3 })
  changedAt!: Date;

  @Column({ name: 'last_event_id', type: 'bigint', unsigned: true, nullable: true })
  lastEventId!: string | null;
}
