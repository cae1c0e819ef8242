import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/**
 * The contact policy (one row, edited through GET/PUT /api/policy) and what sending needs on a delivery:
 * `not_before` (a send due in quiet hours waits until then), `counted_at` (when an automated message
 * passed the policy: the per-customer caps count these, so two sends racing for one customer cannot
 * both pass), `staff_user_id` (the WeCom staff member who sends it or is told about it).
 */
export class Policy1764374400000 implements MigrationInterface {
  name = 'Policy1764374400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE contact_policy (
      id tinyint unsigned NOT NULL,
      quiet_start char(5) NULL,
      quiet_end char(5) NULL,
      cap_per_day smallint unsigned NOT NULL,
      cap_per_30_days smallint unsigned NOT NULL,
      conversation_pause_hours decimal(6,2) NOT NULL,
      updated_at datetime(3) NOT NULL,
      updated_by varchar(64) NULL,
      PRIMARY KEY (id),
      CONSTRAINT chk_contact_policy_one_row CHECK (id = 1)
    ) ${TABLE_OPTIONS}`);
    await q.query(`INSERT INTO contact_policy (id, quiet_start, quiet_end, cap_per_day, cap_per_30_days, conversation_pause_hours, updated_at)
      VALUES (1, '21:00', '09:00', 1, 4, 2, UTC_TIMESTAMP(3))`);
    await q.query(`ALTER TABLE delivery
      ADD COLUMN not_before datetime(3) NULL,
      ADD COLUMN counted_at datetime(3) NULL,
      ADD COLUMN staff_user_id varchar(64) NULL,
      -- the caps: automated messages one customer was counted for since a given instant
      ADD KEY idx_delivery_customer_counted (customer_id, counted_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE delivery DROP KEY idx_delivery_customer_counted, DROP COLUMN not_before, DROP COLUMN counted_at, DROP COLUMN staff_user_id`);
    await q.query(`DROP TABLE IF EXISTS contact_policy`);
  }
}
