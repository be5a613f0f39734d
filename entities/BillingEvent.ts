import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Kinds of ledger events: grant adds to balance; reserve holds; charge spends what was held; release frees it. */
export type BillingKind = 'grant' | 'reserve' | 'charge' | 'release';

/** One append-only ledger line. (ref, kind) is unique, which makes every operation idempotent. */
@Entity('billing_events')
@Index('uq_billing_ref_kind', ['ref', 'kind'], { unique: true })
@Index('idx_billing_user', ['userId', 'id'])
export class BillingEvent {
  @PrimaryGeneratedColumn({ type: 'int' })
  id!: number;

  @Column({ name: 'user_id', type: 'varchar', length: 36 })
  userId!: string;

  @Column({ name: 'job_id', type: 'varchar', length: 36, nullable: true })
  jobId!: string | null;

  /** What the event is about: a job id, or `signup:<userId>` for the sign-up grant. */
  @Column({ type: 'varchar', length: 80 })
  ref!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: BillingKind;

  @Column({ type: 'int' })
  amount!: number;

  @Column({ name: 'balance_after', type: 'int' })
  balanceAfter!: number;

  @Column({ name: 'reserved_after', type: 'int' })
  reservedAfter!: number;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}
