import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/**
 * Campaigns (settings per kind), coupons (one per campaign delivery), the sweep's candidate ledger,
 * and an index for the campaign report on delivery (purpose, created_at).
 * A kind without a `campaign` row reads as its default (src/outreach/campaigns.ts), disabled.
 */
export class Campaigns1764288000000 implements MigrationInterface {
  name = 'Campaigns1764288000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE campaign (
      kind varchar(16) NOT NULL,
      config json NOT NULL,
      updated_at datetime(3) NOT NULL,
      updated_by varchar(64) NULL,
      PRIMARY KEY (kind)
    ) ${TABLE_OPTIONS}`);
    await q.query(`CREATE TABLE coupon (
      id bigint unsigned NOT NULL AUTO_INCREMENT,
      code varchar(32) NOT NULL,
      delivery_id bigint unsigned NOT NULL,
      customer_id bigint unsigned NOT NULL,
      campaign varchar(16) NOT NULL,
      value decimal(10,2) NOT NULL,
      expires_at datetime(3) NOT NULL,
      redeemed_at datetime(3) NULL,
      redeemed_order_id bigint unsigned NULL,
      created_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_coupon_code (code),
      -- one coupon per delivery: issued in the transaction that created the delivery
      UNIQUE KEY uq_coupon_delivery (delivery_id),
      KEY idx_coupon_customer (customer_id),
      -- campaign report: coupons issued per campaign in a period
      KEY idx_coupon_campaign_created (campaign, created_at),
      CONSTRAINT fk_coupon_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE,
      CONSTRAINT fk_coupon_delivery FOREIGN KEY (delivery_id) REFERENCES delivery (id) ON DELETE CASCADE
    ) ${TABLE_OPTIONS}`);
    // every customer a real sweep considered, by the delivery's idempotency key: what became of them
    // (a delivery, or the reason they were skipped) — the report's candidates and skips
    await q.query(`CREATE TABLE campaign_candidate (
      idempotency_key varchar(191) NOT NULL,
      campaign varchar(16) NOT NULL,
      customer_id bigint unsigned NOT NULL,
      sweep_date date NOT NULL,
      outcome varchar(24) NOT NULL,
      delivery_id bigint unsigned NULL,
      created_at datetime(3) NOT NULL,
      updated_at datetime(3) NOT NULL,
      PRIMARY KEY (idempotency_key),
      KEY idx_campaign_candidate_date (campaign, sweep_date),
      KEY idx_campaign_candidate_customer (customer_id),
      CONSTRAINT fk_campaign_candidate_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE
    ) ${TABLE_OPTIONS}`);
    // campaign report: a campaign's deliveries in a period
    await q.query(`ALTER TABLE delivery ADD KEY idx_delivery_purpose_created (purpose, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE delivery DROP KEY idx_delivery_purpose_created`);
    for (const t of ['campaign_candidate', 'coupon', 'campaign']) await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
