import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { JobStatus } from '../domain/jobStates';
import type { RuleParams } from '../domain/ruleParams';

/** The DB mirror of a job: survives workflow retention and serves `GET /jobs`. */
@Entity('jobs_log')
@Index('idx_jobs_user', ['userId', 'id'])
@Index('uq_jobs_idempotency', ['userId', 'idempotencyKey'], { unique: true })
export class JobLog {
  /** UUIDv7: sorts by creation time, which is what `GET /jobs` pages on. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @Column({ name: 'preset_id', type: 'varchar', length: 32 })
  presetId!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: JobStatus;

  @Column({ name: 'item_count', type: 'int' })
  itemCount!: number;

  @Column({ name: 'content_type', type: 'varchar', length: 32 })
  contentType!: string;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 128, nullable: true })
  idempotencyKey!: string | null;

  /** Hash of the create request body, to tell a retry from a reuse of the same key. */
  @Column({ name: 'request_hash', type: 'varchar', length: 64, nullable: true })
  requestHash!: string | null;

  @Column({ type: 'simple-json', nullable: true })
  concepts!: string[] | null;

  @Column({ type: 'simple-json', nullable: true })
  protect!: string[] | null;

  @Column({ type: 'simple-json', nullable: true })
  params!: RuleParams | null;

  /**
   * When the ledger held the job's credits, written by the workflow's mirror. Null while the create is still in
   * progress (or failed): such a row is not a job yet, and the API shows it to nobody.
   */
  @Column({ name: 'reserved_at', type: 'datetime', precision: 3, nullable: true })
  reservedAt!: Date | null;

  @Column({ name: 'credits_reserved', type: 'int', default: 0 })
  creditsReserved!: number;

  @Column({ name: 'credits_charged', type: 'int', default: 0 })
  creditsCharged!: number;

  @Column({ name: 'credits_refunded', type: 'int', default: 0 })
  creditsRefunded!: number;

  @Column({ name: 'error_code', type: 'varchar', length: 64, nullable: true })
  errorCode!: string | null;

  @Column({ name: 'error_message', type: 'varchar', length: 500, nullable: true })
  errorMessage!: string | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt!: Date;

  @Column({ name: 'finished_at', type: 'datetime', precision: 3, nullable: true })
  finishedAt!: Date | null;
}
