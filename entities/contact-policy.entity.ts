import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The one contact policy (row id 1): quiet hours, caps and the conversation pause (src/contact-policy.ts). */
@Entity('contact_policy')
export class ContactPolicy {
  @PrimaryColumn({ type: 'tinyint', unsigned: true })
  id!: number;

  /** 'HH:mm' store-local; null (with quietEnd) = no quiet hours */
  @Column({ name: 'quiet_start', type: 'char', length: 5, nullable: true })
  quietStart!: string | null;

  @Column({ name: 'quiet_end', type: 'char', length: 5, nullable: true })
  quietEnd!: string | null;

  @Column({ name: 'cap_per_day', type: 'smallint', unsigned: true })
  capPerDay!: number;

  @Column({ name: 'cap_per_30_days', type: 'smallint', unsigned: true })
  capPer30Days!: number;

  @Column({ name: 'conversation_pause_hours', type: 'decimal', precision: 6, scale: 2 })
  conversationPauseHours!: string;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;

  @Column({ name: 'updated_by', type: 'varchar', length: 64, nullable: true })
  updatedBy!: string | null;
}
