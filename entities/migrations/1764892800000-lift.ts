import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/** How a coupon code is compared (Crockford): upper-case, no spaces or dashes, O→0, I/L→1 (src/outreach/coupons.ts couponKey says the same). */
const CODE_KEY = `REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(UPPER(code), '-', ''), ' ', ''), 'O', '0'), 'I', '1'), 'L', '1')`;

/**
 * Refunds, rhythm per category and SKU, coupons at the till.
 *
 * `shop_order.status` (paid, partially_refunded, refunded, cancelled) and `refunded_amount`; `net_total`
 * is generated from them (0 once refunded or cancelled), so revenue, order stats and attribution read
 * one column. Item lines carry `refunded_quantity` (a refund naming items), refunds their own row
 * (idempotent on the shop's refund id).
 *
 * `customer_rhythm` gains the SKU (a customer repeating one SKU), the units of the last purchase, days
 * per unit (quantity-aware), where that came from (`own` gaps, the category's `prior`, or `none`) and
 * `drives`: the rows the reorder sweep reads (idx_customer_rhythm_due). `category_rhythm` holds each
 * category's typical days per unit across customers (the prior for single-order customers).
 *
 * `coupon.code_key` is the normalised code (unique), `min_spend` the rule's minimum order total, and
 * `redeemed_order_ref` the shop's order id that redeemed it (a till redemption comes before the order).
 */
export class Lift1764892800000 implements MigrationInterface {
  name = 'Lift1764892800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE shop_order
      ADD COLUMN status varchar(20) NOT NULL DEFAULT 'paid' AFTER currency,
      ADD COLUMN refunded_amount decimal(12,2) NOT NULL DEFAULT 0.00 AFTER status,
      ADD COLUMN net_total decimal(12,2) AS (CASE WHEN status IN ('refunded', 'cancelled') THEN 0 ELSE GREATEST(total - refunded_amount, 0) END) STORED AFTER refunded_amount,
      ADD COLUMN status_changed_at datetime(3) NULL AFTER net_total`);
    await q.query(`ALTER TABLE shop_order_item ADD COLUMN refunded_quantity int NOT NULL DEFAULT 0`);
    await q.query(`CREATE TABLE shop_order_refund (
      id bigint unsigned NOT NULL AUTO_INCREMENT,
      shop_order_id bigint unsigned NOT NULL,
      refund_id varchar(64) NOT NULL,
      amount decimal(12,2) NOT NULL,
      items json NULL,
      refunded_at datetime(3) NOT NULL,
      created_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_shop_order_refund (shop_order_id, refund_id),
      CONSTRAINT fk_shop_order_refund_order FOREIGN KEY (shop_order_id) REFERENCES shop_order (id) ON DELETE CASCADE
    ) ${TABLE_OPTIONS}`);
    await q.query(`ALTER TABLE customer_rhythm
      ADD COLUMN sku varchar(64) NOT NULL DEFAULT '' AFTER category,
      ADD COLUMN last_quantity int unsigned NOT NULL DEFAULT 1 AFTER last_product,
      ADD COLUMN days_per_unit decimal(8,2) NULL AFTER median_gap_days,
      ADD COLUMN basis varchar(8) NOT NULL DEFAULT 'none' AFTER days_per_unit,
      ADD COLUMN drives tinyint NOT NULL DEFAULT 0 AFTER basis,
      DROP PRIMARY KEY, ADD PRIMARY KEY (customer_id, category, sku),
      -- reorder sweep: WHERE drives = 1 AND expected_next_at BETWEEN ? AND ?
      ADD KEY idx_customer_rhythm_due (drives, expected_next_at, customer_id)`);
    // rows written before: the overall rhythm drives (as it did) until the customer's next order recomputes them
    await q.query(`UPDATE customer_rhythm SET drives = IF(category = '', 1, 0), days_per_unit = median_gap_days, basis = IF(median_gap_days IS NULL, 'none', 'own')`);
    await q.query(`CREATE TABLE category_rhythm (
      category varchar(64) NOT NULL,
      customers int unsigned NOT NULL,
      days_per_unit decimal(8,2) NOT NULL,
      updated_at datetime(3) NOT NULL,
      PRIMARY KEY (category)
    ) ${TABLE_OPTIONS}`);
    await q.query(`ALTER TABLE coupon
      ADD COLUMN code_key varchar(32) AS (${CODE_KEY}) STORED AFTER code,
      ADD COLUMN min_spend decimal(10,2) NULL AFTER value,
      ADD COLUMN redeemed_order_ref varchar(64) NULL AFTER redeemed_order_id,
      ADD UNIQUE KEY uq_coupon_code_key (code_key),
      -- an order arriving after the till redeemed its coupon
      ADD KEY idx_coupon_redeemed_order_ref (redeemed_order_ref)`);
    await q.query(`UPDATE coupon c JOIN shop_order o ON o.id = c.redeemed_order_id SET c.redeemed_order_ref = o.order_id`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE coupon DROP KEY uq_coupon_code_key, DROP KEY idx_coupon_redeemed_order_ref, DROP COLUMN code_key, DROP COLUMN min_spend, DROP COLUMN redeemed_order_ref`);
    await q.query(`DROP TABLE IF EXISTS category_rhythm`);
    await q.query(`DELETE FROM customer_rhythm WHERE sku <> ''`);
    await q.query(`ALTER TABLE customer_rhythm DROP KEY idx_customer_rhythm_due, DROP PRIMARY KEY, ADD PRIMARY KEY (customer_id, category),
      DROP COLUMN sku, DROP COLUMN last_quantity, DROP COLUMN days_per_unit, DROP COLUMN basis, DROP COLUMN drives`);
    await q.query(`DROP TABLE IF EXISTS shop_order_refund`);
    await q.query(`ALTER TABLE shop_order_item DROP COLUMN refunded_quantity`);
    await q.query(`ALTER TABLE shop_order DROP COLUMN net_total, DROP COLUMN status_changed_at, DROP COLUMN refunded_amount, DROP COLUMN status`);
  }
}
