import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/** SMS and email: delivery rows and the consent ledger. */
export class Channels1764115200000 implements MigrationInterface {
  name = 'Channels1764115200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE delivery (
      id bigint unsigned NOT NULL AUTO_INCREMENT,
      customer_id bigint unsigned NOT NULL,
      channel varchar(8) NOT NULL,
      provider varchar(16) NOT NULL,
      purpose varchar(24) NOT NULL,
      marketing tinyint(1) NOT NULL DEFAULT 0,
      idempotency_key varchar(191) NOT NULL,
      status varchar(12) NOT NULL,
      to_address varchar(254) NOT NULL,
      content json NOT NULL,
      provider_ref varchar(191) NULL,
      message_id varchar(191) NULL,
      error_code varchar(64) NULL,
      error_text text NULL,
      attempts int NOT NULL DEFAULT 0,
      requested_by varchar(64) NULL,
      created_at datetime(3) NOT NULL,
      updated_at datetime(3) NOT NULL,
      sent_at datetime(3) NULL,
      delivered_at datetime(3) NULL,
      failed_at datetime(3) NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_delivery_idempotency_key (idempotency_key),
      KEY idx_delivery_customer (customer_id, id),
      KEY idx_delivery_status (status, channel, id),
      KEY idx_delivery_provider_ref (provider, provider_ref),
      KEY idx_delivery_message_id (message_id),
      CONSTRAINT fk_delivery_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE
    ) ${TABLE_OPTIONS}`);
    await q.query(`CREATE TABLE consent_event (
      id bigint unsigned NOT NULL AUTO_INCREMENT,
      customer_id bigint unsigned NOT NULL,
      channel varchar(8) NOT NULL,
      action varchar(8) NOT NULL,
      source varchar(24) NOT NULL,
      actor varchar(64) NULL,
      evidence text NULL,
      inbound_event_id bigint unsigned NULL,
      dedup_key varchar(191) NULL,
      occurred_at datetime(3) NOT NULL,
      created_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_consent_event_dedup (dedup_key),
      KEY idx_consent_event_customer (customer_id, channel, id),
      CONSTRAINT fk_consent_event_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE
    ) ${TABLE_OPTIONS}`);
    await q.query(`CREATE TABLE customer_consent (
      customer_id bigint unsigned NOT NULL,
      channel varchar(8) NOT NULL,
      status varchar(12) NOT NULL,
      changed_at datetime(3) NOT NULL,
      last_event_id bigint unsigned NOT NULL,
      PRIMARY KEY (customer_id, channel),
      CONSTRAINT fk_customer_consent_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE
    ) ${TABLE_OPTIONS}`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['customer_consent', 'consent_event', 'delivery']) await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
