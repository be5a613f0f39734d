import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * `jobs_log.reserved_at`: an explicit "this row is a job" written by the workflow's mirror, replacing the sentinel
 * `status = 'created' AND credits_reserved = 0` the API used to derive it. Rows that were jobs get their creation time.
 */
export class JobReservedAt1795977893378 implements MigrationInterface {
  name = 'JobReservedAt1795977893378';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('jobs_log', new TableColumn({ name: 'reserved_at', type: 'datetime', precision: 3, isNullable: true }));
    // Plain SQL both engines share (`?` placeholders on mysql2 and better-sqlite3).
    await q.query('UPDATE jobs_log SET reserved_at = created_at WHERE NOT (status = ? AND credits_reserved = 0)', ['created']);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('jobs_log', 'reserved_at');
  }
}
