import { Table, TableIndex, type MigrationInterface, type QueryRunner, type TableColumnOptions } from 'typeorm';

// Table API, not SQL: one migration for MySQL/MariaDB and SQLite.
const str = (name: string, length: number, isNullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  isNullable,
});
const int = (name: string, dflt?: number): TableColumnOptions => ({ name, type: 'int', default: dflt });
const time = (name: string, isNullable = false): TableColumnOptions => ({ name, type: 'datetime', precision: 3, isNullable });

/** Variants (compare) and exports of a job: `job_variants_log`, `job_exports_log`. */
export class VariantsExports1764417600000 implements MigrationInterface {
  name = 'VariantsExports1764417600000';

  async up(q: QueryRunner): Promise<void> {
    // A variant's items (keys and checks of up to 500 items) outgrow MySQL's 64 KiB TEXT.
    const bigText = q.connection.options.type === 'better-sqlite3' ? 'text' : 'mediumtext';
    await q.createTable(
      new Table({
        name: 'job_variants_log',
        columns: [
          { ...str('job_id', 36), isPrimary: true },
          { name: 'n', type: 'int', isPrimary: true },
          str('user_id', 36),
          str('status', 16),
          { name: 'rule', type: 'text' },
          str('output_format', 8),
          str('idempotency_key', 128, true),
          str('request_hash', 64),
          { name: 'items', type: bigText, isNullable: true },
          int('credits_reserved', 0),
          int('credits_charged', 0),
          int('credits_refunded', 0),
          str('error_code', 64, true),
          str('error_message', 500, true),
          time('created_at'),
          time('updated_at'),
          time('finished_at', true),
        ],
        indices: [new TableIndex({ name: 'uq_variants_idempotency', columnNames: ['job_id', 'idempotency_key'], isUnique: true })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'job_exports_log',
        columns: [
          { ...str('id', 36), isPrimary: true },
          str('job_id', 36),
          str('user_id', 36),
          str('template', 16),
          { name: 'variant', type: 'int' },
          str('format', 8),
          str('request_hash', 64),
          str('status', 16),
          str('object_key', 255),
          { name: 'bytes', type: 'bigint', isNullable: true },
          str('error_code', 64, true),
          str('error_message', 500, true),
          time('created_at'),
          time('finished_at', true),
        ],
        indices: [
          new TableIndex({ name: 'idx_exports_user', columnNames: ['user_id', 'status'] }),
          new TableIndex({ name: 'idx_exports_job', columnNames: ['job_id', 'request_hash'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('job_exports_log');
    await q.dropTable('job_variants_log');
  }
}
