import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/**
 * PIPL rights (src/privacy/): export and erasure.
 * - `inbound_event.customer_id`: the customer a raw payload was about (set when the event is processed),
 *   so an erasure finds every payload linked to the person; `received_at` is indexed for the daily
 *   retention job (INBOUND_PAYLOAD_RETENTION_DAYS).
 * - `timeline_entry.inbound_event_id`: which event made a line (how processing links the event back).
 * - `customer.erased_at`: when the person's data was erased; the row stays, anonymous, carrying the
 *   orders the shop's accounts need.
 * - `suppressed_address`: a one-way hash (sha256 of the normalised address) of each address an erased
 *   person had opted out on, so the send policy still never contacts it.
 */
export class Privacy1764720000000 implements MigrationInterface {
  name = 'Privacy1764720000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inbound_event
      ADD COLUMN customer_id bigint unsigned NULL AFTER dedup_key,
      ADD KEY idx_inbound_customer (customer_id),
      ADD KEY idx_inbound_received (received_at)`);
    await q.query(`ALTER TABLE timeline_entry ADD KEY idx_timeline_inbound_event (inbound_event_id)`);
    await q.query(`ALTER TABLE customer ADD COLUMN erased_at datetime(3) NULL`);
    await q.query(`CREATE TABLE suppressed_address (
      address_hash char(64) NOT NULL,
      channel varchar(8) NOT NULL,
      reason varchar(16) NOT NULL,
      created_at datetime(3) NOT NULL,
      PRIMARY KEY (address_hash)
    ) ${TABLE_OPTIONS}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS suppressed_address`);
    await q.query(`ALTER TABLE customer DROP COLUMN erased_at`);
    await q.query(`ALTER TABLE timeline_entry DROP KEY idx_timeline_inbound_event`);
    await q.query(`ALTER TABLE inbound_event DROP KEY idx_inbound_received, DROP KEY idx_inbound_customer, DROP COLUMN customer_id`);
  }
}
