import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { ExportStatus } from '../domain/exports';

/** The DB mirror of an export (API.md §19): the API inserts it, afterwards only the export workflow writes it. */
@Entity('job_exports_log')
@Index('idx_exports_user', ['userId', 'status'])
@Index('idx_exports_job', ['jobId', 'requestHash'])
export class JobExportLog {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'job_id', type: 'varchar', length: 36 })
  jobId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @Column({ type: 'varchar', length: 16 })
  template!: string;

  @Column({ type: 'int' })
  variant!: number;

  @Column({ type: 'varchar', length: 8 })
  format!: string;

  /** The normalized request, hashed: the same body within the URL lifetime returns this export. */
  @Column({ name: 'request_hash', type: 'varchar', length: 64 })
  requestHash!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: ExportStatus;

  @Column({ name: 'object_key', type: 'varchar', length: 255 })
  objectKey!: string;

  @Column({
    type: 'bigint',
    nullable: true,
    transformer: { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) },
  })
  bytes!: number | null;

  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true })
  errorCode!: string | null;

  @Column({ name: 'error_message', type: 'varchar', length: 500, nullable: true })
  errorMessage!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'finished_at', type: 'datetime', precision: 3, nullable: true })
  finishedAt!: Date | null;
}
