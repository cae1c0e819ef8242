import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type TagSource = 'wecom' | 'manual' | 'rule';

/** A label on customers; WeCom corp tags keep WeCom's id so renames and deletes follow them. */
@Entity('tag')
@Index('idx_tag_name', ['name'])
export class Tag {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: string;

  @Column({ type: 'varchar', length: 8 })
  source!: TagSource;

  /** WeCom tag id (corp tags), or `name:<group>/<name>` for WeCom personal tags; null for ours */
  @Column({ name: 'wecom_id', type: 'varchar', length: 191, nullable: true, unique: true })
  wecomId!: string | null;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Column({ name: 'group_name', type: 'varchar', length: 128, nullable: true })
  groupName!: string | null;

  @Index('idx_tag_wecom_group')
  @Column({ name: 'wecom_group_id', type: 'varchar', length: 64, nullable: true })
  wecomGroupId!: string | null;

  @Column({ type: 'boolean', default: false })
  deleted!: boolean;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
