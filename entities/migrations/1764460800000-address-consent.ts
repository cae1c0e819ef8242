import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/**
 * Consent bound to the address, not only the profile: `address_consent` holds the current word per
 * channel and address (`sms` + E.164 phone, `email` + lower-cased address), keyed by a one-way hash
 * of the normalised address so that an erased person who said no stays opted out with nothing but
 * the hash kept (`address` may become NULL). No foreign key to `customer`: the address outlives
 * whoever holds it. The ledger (`consent_event`) records which address a word was about.
 */
export class AddressConsent1764460800000 implements MigrationInterface {
  name = 'AddressConsent1764460800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE address_consent (
      channel varchar(8) NOT NULL,
      address_hash char(64) NOT NULL,
      address varchar(254) NULL,
      status varchar(12) NOT NULL,
      source varchar(24) NOT NULL,
      changed_at datetime(3) NOT NULL,
      last_event_id bigint unsigned NULL,
      PRIMARY KEY (channel, address_hash)
    ) ${TABLE_OPTIONS}`);
    await q.query(`ALTER TABLE consent_event
      ADD COLUMN address varchar(254) NULL,
      ADD COLUMN address_hash char(64) NULL,
      ADD KEY idx_consent_event_address (channel, address_hash, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE consent_event DROP KEY idx_consent_event_address, DROP COLUMN address, DROP COLUMN address_hash`);
    await q.query(`DROP TABLE IF EXISTS address_consent`);
  }
}
