import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An account (anonymous until linked) with its plan and credit state; the ledger (BillingEvent) explains it. */
@Entity('users')
export class User {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  plan!: string;

  /** Credits owned: grants minus charges. */
  @Column({ type: 'int' })
  balance!: number;

  /** Credits held by unfinished jobs: reserves minus charges and releases. */
  @Column({ type: 'int' })
  reserved!: number;

  @Column({ name: 'active_jobs', type: 'int' })
  activeJobs!: number;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt!: Date;
}
