import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLES = ['users', 'rules', 'jobs_log', 'job_items_log', 'billing_events'];

/**
 * Ids, Idempotency-Keys and every other string compare byte-for-byte on every engine: MariaDB's default
 * utf8mb4_general_ci folds case (`IDEM-X` would replay `idem-x`'s job), SQLite's default BINARY does not.
 * SQLite already compares bytes, so this is a no-op there.
 */
export class BinaryCollation1795980000000 implements MigrationInterface {
  name = 'BinaryCollation1795980000000';

  async up(q: QueryRunner): Promise<void> {
    if (q.connection.options.type === 'better-sqlite3') return;
    // The database default too, so tables of later migrations start binary.
    await q.query('ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_bin');
    for (const t of TABLES) await q.query(`ALTER TABLE \`${t}\` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  }

  async down(q: QueryRunner): Promise<void> {
    if (q.connection.options.type === 'better-sqlite3') return;
    await q.query('ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci');
    for (const t of TABLES) await q.query(`ALTER TABLE \`${t}\` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
  }
}
