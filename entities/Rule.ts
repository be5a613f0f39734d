import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { RuleParams } from '../domain/ruleParams';

/** A saved, reusable rule of one user (uses one rule slot of the plan). */
@Entity('rules')
@Index('idx_rules_user', ['userId', 'id'])
export class Rule {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ name: 'preset_id', type: 'varchar', length: 32 })
  presetId!: string;

  @Column({ type: 'simple-json' })
  concepts!: string[];

  @Column({ type: 'simple-json' })
  protect!: string[];

  @Column({ type: 'simple-json' })
  params!: RuleParams;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
