import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/** The spine: customers, identities, staff, follows, tags, timeline, durable inbox, kf cursors. */
export class Init1764028800000 implements MigrationInterface {
  name = 'Init1764028800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE customer (
      id bigint unsigned NOT NULL AUTO_INCREMENT,
      name varchar(128) NULL,
      phone varchar(32) NULL,
      email varchar(254) NULL,
      birthday varchar(10) NULL,
      avatar varchar(512) NULL,
      gender tinyint NULL,
      churn_risk tinyint(1) NOT NULL DEFAULT 0,
      first_seen_at datetime(3) NOT NULL,
      last_interaction_at datetime(3) NULL,
      created_at datetime(3) NOT NULL,
      updated_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      KEY idx_customer_name (name),
      KEY idx_customer_last_interaction (last_interaction_at)
    ) ${TABLE_OPTIONS}`);
    await q.query(`CREATE TABLE customer_identity (
      id bigint unsigned NOT NULL AUTO_INCREMENT,
      customer_id bigint unsigned NOT NULL,
      channel varchar(32) NOT NULL,
      external_id varchar(191) NOT NULL,
      created_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_identity_channel_external (channel, external_id),
      KEY idx_identity_customer (customer_id),
      CONSTRAINT fk_identity_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE
    ) ${TABLE_OPTIONS}`);
    await q.query(`CREATE TABLE staff_member (
      id bigint unsigned NOT NULL AUTO_INCREMENT,
      user_id varchar(64) NOT NULL,
      name varchar(128) NULL,
      created_at datetime(3) NOT NULL,
      updated_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_staff_user_id (user_id)
    ) ${TABLE_OPTIONS}`);
    await q.query(`CREATE TABLE customer_follow (
      id bigint unsigned NOT NULL AUTO_INCREMENT,
      customer_id bigint unsigned NOT NULL,
      staff_user_id varchar(64) NOT NULL,
      remark varchar(128) NULL,
      description varchar(512) NULL,
      add_way int NULL,
      add_state varchar(64) NULL,
      status varchar(8) NOT NULL DEFAULT 'active',
      added_at datetime(3) NULL,
      ended_at datetime(3) NULL,
      ended_by varchar(8) NULL,
      updated_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_follow_customer_staff (customer_id, staff_user_id),
      KEY idx_follow_staff_status (staff_user_id, status),
      CONSTRAINT fk_follow_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE
    ) ${TABLE_OPTIONS}`);
    await q.query(`CREATE TABLE tag (
      id bigint unsigned NOT NULL AUTO_INCREMENT,
      source varchar(8) NOT NULL,
      wecom_id varchar(191) NULL,
      name varchar(128) NOT NULL,
      group_name varchar(128) NULL,
      wecom_group_id varchar(64) NULL,
      deleted tinyint(1) NOT NULL DEFAULT 0,
      updated_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_tag_wecom_id (wecom_id),
      KEY idx_tag_name (name),
      KEY idx_tag_wecom_group (wecom_group_id)
    ) ${TABLE_OPTIONS}`);
    await q.query(`CREATE TABLE customer_tag (
      customer_id bigint unsigned NOT NULL,
      tag_id bigint unsigned NOT NULL,
      staff_user_id varchar(64) NOT NULL DEFAULT '',
      source varchar(8) NOT NULL,
      created_at datetime(3) NOT NULL,
      PRIMARY KEY (customer_id, tag_id, staff_user_id),
      KEY idx_customer_tag_tag (tag_id, customer_id),
      CONSTRAINT fk_customer_tag_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE,
      CONSTRAINT fk_customer_tag_tag FOREIGN KEY (tag_id) REFERENCES tag (id) ON DELETE CASCADE
    ) ${TABLE_OPTIONS}`);
    await q.query(`CREATE TABLE timeline_entry (
      id bigint unsigned NOT NULL AUTO_INCREMENT,
      customer_id bigint unsigned NOT NULL,
      channel varchar(16) NOT NULL,
      direction varchar(8) NOT NULL,
      kind varchar(48) NOT NULL,
      text text NULL,
      occurred_at datetime(3) NOT NULL,
      staff_user_id varchar(64) NULL,
      provider_id varchar(191) NULL,
      inbound_event_id bigint unsigned NULL,
      data json NULL,
      created_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_timeline_channel_provider (channel, provider_id),
      KEY idx_timeline_customer_time (customer_id, occurred_at, id),
      CONSTRAINT fk_timeline_customer FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE
    ) ${TABLE_OPTIONS}`);
    await q.query(`CREATE TABLE inbound_event (
      id bigint unsigned NOT NULL AUTO_INCREMENT,
      channel varchar(16) NOT NULL,
      type varchar(96) NOT NULL,
      dedup_key varchar(191) NOT NULL,
      status varchar(12) NOT NULL DEFAULT 'received',
      attempts int NOT NULL DEFAULT 0,
      last_error text NULL,
      payload json NOT NULL,
      received_at datetime(3) NOT NULL,
      processed_at datetime(3) NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_inbound_dedup_key (dedup_key),
      KEY idx_inbound_status_received (status, received_at),
      KEY idx_inbound_channel_id (channel, id)
    ) ${TABLE_OPTIONS}`);
    await q.query(`CREATE TABLE wecom_kf_cursor (
      open_kfid varchar(64) NOT NULL,
      next_cursor varchar(128) NOT NULL,
      updated_at datetime(3) NOT NULL,
      PRIMARY KEY (open_kfid)
    ) ${TABLE_OPTIONS}`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['wecom_kf_cursor', 'inbound_event', 'timeline_entry', 'customer_tag', 'tag', 'customer_follow', 'staff_member', 'customer_identity', 'customer']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
