import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { VariantItemState, VariantRule, VariantStatus } from '../domain/variantMachine';

/** The DB mirror of a variant (API.md §17): the API inserts it, afterwards only the variant workflow writes it. */
@Entity('job_variants_log')
@Index('uq_variants_idempotency', ['jobId', 'idempotencyKey'], { unique: true })
export class JobVariantLog {
  @PrimaryColumn({ name: 'job_id', type: 'varchar', length: 36 })
  jobId!: string;

  /** 1, 2, … per job. */
  @PrimaryColumn({ type: 'int' })
  n!: number;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: VariantStatus;

  @Column({ type: 'simple-json' })
  rule!: VariantRule;

  @Column({ name: 'output_format', type: 'varchar', length: 8 })
  outputFormat!: string;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 128, nullable: true })
  idempotencyKey!: string | null;

  @Column({ name: 'request_hash', type: 'varchar', length: 64 })
  requestHash!: string;

  /** Every item's state (keys, checks): one variant's items are always read together. */
  @Column({ type: 'simple-json', nullable: true })
  items!: VariantItemState[] | null;

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
