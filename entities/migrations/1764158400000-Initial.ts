import { Table, TableIndex, type MigrationInterface, type QueryRunner, type TableColumnOptions } from 'typeorm';

// Written with TypeORM's Table API, not SQL, so one migration serves MySQL/MariaDB and SQLite alike.
const id = (name = 'id'): TableColumnOptions => ({ name, type: 'varchar', length: '36', isPrimary: true });
const str = (name: string, length: number, isNullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  isNullable,
});
const int = (name: string, dflt?: number): TableColumnOptions => ({ name, type: 'int', default: dflt });
const time = (name: string, isNullable = false): TableColumnOptions => ({ name, type: 'datetime', precision: 3, isNullable });
const json = (name: string, isNullable = false): TableColumnOptions => ({ name, type: 'text', isNullable });

/** The first schema: users, rules, the job mirror and the credit ledger. */
export class Initial1764158400000 implements MigrationInterface {
  name = 'Initial1764158400000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'users',
        columns: [id(), str('plan', 16), int('balance'), int('reserved'), int('active_jobs'), time('created_at')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'rules',
        columns: [
          id(),
          str('user_id', 36),
          str('name', 100),
          str('preset_id', 32),
          json('concepts'),
          json('protect'),
          json('params'),
          time('created_at'),
          time('updated_at'),
        ],
        indices: [new TableIndex({ name: 'idx_rules_user', columnNames: ['user_id', 'id'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'jobs_log',
        columns: [
          id(),
          str('user_id', 36),
          str('preset_id', 32),
          str('status', 16),
          int('item_count'),
          str('content_type', 32),
          str('idempotency_key', 128, true),
          str('request_hash', 64, true),
          json('concepts', true),
          json('protect', true),
          json('params', true),
          int('credits_reserved', 0),
          int('credits_charged', 0),
          int('credits_refunded', 0),
          str('error_code', 64, true),
          str('error_message', 500, true),
          time('created_at'),
          time('updated_at'),
          time('finished_at', true),
        ],
        indices: [
          new TableIndex({ name: 'idx_jobs_user', columnNames: ['user_id', 'id'] }),
          new TableIndex({ name: 'uq_jobs_idempotency', columnNames: ['user_id', 'idempotency_key'], isUnique: true }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'job_items_log',
        columns: [
          { ...str('job_id', 36), isPrimary: true },
          { ...int('idx'), isPrimary: true },
          str('status', 16),
          str('error_code', 64, true),
          str('error_message', 500, true),
          str('result_key', 255, true),
          str('preview_key', 255, true),
          json('masks', true),
          json('checks', true),
          time('updated_at'),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'billing_events',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          str('user_id', 36),
          str('job_id', 36, true),
          str('ref', 80),
          str('kind', 16),
          int('amount'),
          int('balance_after'),
          int('reserved_after'),
          time('created_at'),
        ],
        indices: [
          new TableIndex({ name: 'uq_billing_ref_kind', columnNames: ['ref', 'kind'], isUnique: true }),
          new TableIndex({ name: 'idx_billing_user', columnNames: ['user_id', 'id'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['billing_events', 'job_items_log', 'jobs_log', 'rules', 'users']) await q.dropTable(t);
  }
}
