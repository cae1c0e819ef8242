import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A one-way hash (sha256 of the normalised address: E.164 phone, lower-case email) of an address that
 * must never be contacted again although the person behind it was erased (src/consent/suppression.ts).
 */
@Entity('suppressed_address')
export class SuppressedAddress {
  @PrimaryColumn({ name: 'address_hash', type: 'char', length: 64 })
  addressHash!: string;

  @Column({ type: 'varchar', length: 8 })
  channel!: string;

  /** why: `erased` (an erased customer had opted out) */
  @Column({ type: 'varchar', length: 16 })
  reason!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}
