import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Where `kf/sync_msg` left off for one WeChat customer-service account. */
@Entity('wecom_kf_cursor')
export class WecomKfCursor {
  @PrimaryColumn({ name: 'open_kfid', type: 'varchar', length: 64 })
  openKfId!: string;

  @Column({ name: 'next_cursor', type: 'varchar', length: 128 })
  cursor!: string;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
