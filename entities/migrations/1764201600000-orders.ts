import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/**
 * Orders, purchase rhythm and the customer columns the outreach engine selects on
 * (birthday, last activity, lifecycle stage, dormancy spell, RFM).
 *
 * `customer.birthday_md` ('MM-DD') is generated from `birthday` ('YYYY-MM-DD' or '--MM-DD': the month-day is
 * always its last five characters), so writers only ever set `birthday`.
 * `customer.last_activity_at` is a stored generated column — the later of the last order, the last
 * message from the customer and first_seen_at — so it can never drift from the columns it is made of,
 * and the nightly lifecycle job can find stage transitions through an index instead of scanning.
 */
export class Orders1764201600000 implements MigrationInterface {
  name = 'Orders1764201600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE customer
      ADD COLUMN birthday_md char(5) AS (RIGHT(birthday, 5)) STORED AFTER birthday,
      ADD COLUMN notes text NULL,
      ADD COLUMN order_count int unsigned NOT NULL DEFAULT 0,
      ADD COLUMN total_spent decimal(12,2) NOT NULL DEFAULT 0.00,
      ADD COLUMN last_order_at datetime(3) NULL,
      ADD COLUMN last_inbound_at datetime(3) NULL,
      ADD COLUMN last_activity_at datetime(3) AS (GREATEST(first_seen_at, COALESCE(last_order_at, first_seen_at), COALESCE(last_inbound_at, first_seen_at))) STORED,
      ADD COLUMN lifecycle_stage varchar(8) NOT NULL DEFAULT 'new',
      ADD COLUMN dormant_since datetime(3) NULL,
      ADD COLUMN rfm_r tinyint NULL,
      ADD COLUMN rfm_f tinyint NULL,
      ADD COLUMN rfm_m tinyint NULL,
      -- birthday sweep: WHERE birthday_md IN ('02-28', '02-29')
      ADD KEY idx_customer_birthday_md (birthday_md),
      -- win-back sweep: WHERE dormant_since IS NOT NULL AND dormant_since <= ? (one delivery per spell)
      ADD KEY idx_customer_dormant_since (dormant_since),
      -- nightly lifecycle: WHERE lifecycle_stage IN ('new','active'[,'dormant']) AND last_activity_at < ?
      -- (only the rows crossing a threshold are touched); also GET /api/customers?stage=
      ADD KEY idx_customer_stage_activity (lifecycle_stage, last_activity_at),
      -- nightly lifecycle: customers who deleted every staff member (few) → churned
      ADD KEY idx_customer_churn_risk (churn_risk, lifecycle_stage),
      -- GET /api/customers?rfm=r5 / 555
      ADD KEY idx_customer_rfm (rfm_r, rfm_f, rfm_m)`);

    await q.query(`CREATE TABLE shop_order (
      id bigint unsigned NOT NULL AUTO_INCREMENT,
      order_id varchar(64) NOT NULL,
      customer_id bigint unsigned NOT NULL,
      total decimal(12,2) NOT NULL,
      currency char(3) NOT NULL,
      placed_at datetime(3) NOT NULL,
      coupon_code varchar(64) NULL,
      attributed_delivery_id bigint unsigned NULL,
      source varchar(8) NOT NULL DEFAULT 'webhook',
      inbound_event_id bigint unsigned NULL,
      created_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_shop_order_order_id (order_id),
      -- order stats and rhythm for one customer; reorder "no order since"
      KEY idx_shop_order_customer_placed (customer_id, placed_at),
      -- campaign report: orders attributed to a delivery
      KEY idx_shop_order_attributed (attributed_delivery_id),
      -- coupon redemption lookups and audits
      KEY idx_shop_order_coupon (coupon_code),
      CONSTRAINT fk_shop_order_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE
    ) ${TABLE_OPTIONS}`);
    await q.query(`CREATE TABLE shop_order_item (
      id bigint unsigned NOT NULL AUTO_INCREMENT,
      shop_order_id bigint unsigned NOT NULL,
      line smallint unsigned NOT NULL,
      sku varchar(64) NOT NULL,
      name varchar(255) NOT NULL,
      category varchar(64) NOT NULL DEFAULT '',
      quantity int NOT NULL,
      price decimal(12,2) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_shop_order_item_line (shop_order_id, line),
      CONSTRAINT fk_shop_order_item_order FOREIGN KEY (shop_order_id) REFERENCES shop_order (id) ON DELETE CASCADE
    ) ${TABLE_OPTIONS}`);
    await q.query(`CREATE TABLE customer_rhythm (
      customer_id bigint unsigned NOT NULL,
      category varchar(64) NOT NULL DEFAULT '',
      order_count int unsigned NOT NULL,
      last_order_at datetime(3) NOT NULL,
      last_order_id bigint unsigned NOT NULL,
      last_product varchar(255) NULL,
      median_gap_days decimal(8,2) NULL,
      expected_next_at datetime(3) NULL,
      updated_at datetime(3) NOT NULL,
      PRIMARY KEY (customer_id, category),
      -- reorder sweep: WHERE category = '' AND expected_next_at BETWEEN ? AND ?
      KEY idx_customer_rhythm_expected (category, expected_next_at),
      CONSTRAINT fk_customer_rhythm_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE
    ) ${TABLE_OPTIONS}`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['customer_rhythm', 'shop_order_item', 'shop_order']) await q.query(`DROP TABLE IF EXISTS ${t}`);
    await q.query(`ALTER TABLE customer
      DROP KEY idx_customer_birthday_md, DROP KEY idx_customer_dormant_since, DROP KEY idx_customer_stage_activity,
      DROP KEY idx_customer_churn_risk, DROP KEY idx_customer_rfm,
      DROP COLUMN birthday_md, DROP COLUMN notes, DROP COLUMN order_count, DROP COLUMN total_spent,
      DROP COLUMN last_order_at, DROP COLUMN last_inbound_at, DROP COLUMN last_activity_at, DROP COLUMN lifecycle_stage,
      DROP COLUMN dormant_since, DROP COLUMN rfm_r, DROP COLUMN rfm_f, DROP COLUMN rfm_m`);
  }
}
