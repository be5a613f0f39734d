import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ItemStatus } from '../domain/jobStates';

/** The DB mirror of one item of a job, written as the item finishes. */
@Entity('job_items_log')
export class JobItemLog {
  @PrimaryColumn({ name: 'job_id', type: 'varchar', length: 36 })
  jobId!: string;

  @PrimaryColumn({ type: 'int' })
  idx!: number;

  @Column({ type: 'varchar', length: 16 })
  status!: ItemStatus;

  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true })
  errorCode!: string | null;

  @Column({ name: 'error_message', type: 'varchar', length: 500, nullable: true })
  errorMessage!: string | null;

  @Column({ name: 'result_key', type: 'varchar', length: 255, nullable: true })
  resultKey!: string | null;

  @Column({ name: 'preview_key', type: 'varchar', length: 255, nullable: true })
  previewKey!: string | null;

  /** Concept id -> mask key. */
  @Column({ type: 'simple-json', nullable: true })
  masks!: Record<string, string> | null;

  @Column({ type: 'simple-json', nullable: true })
  checks!: Record<string, unknown> | null;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;
}
