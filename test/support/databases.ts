/**
 * Runs a DB suite on both engines we ship: SQLite (embedded default) and MariaDB/MySQL (production).
 * MariaDB is never skipped: when it is unreachable the suite fails, so CI cannot go green without it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../entities/dataSource';

/** The MariaDB/MySQL server the DB suites use (a fresh database is created per suite). */
export const TEST_MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** A database opened for one suite, migrated, and dropped after it. */
export interface TestDatabase {
  kind: 'sqlite' | 'mariadb';
  url: string;
  ds: DataSource;
}

/** Creates an empty database of `kind`; the returned `drop` removes it. */
export async function createTestDatabase(kind: TestDatabase['kind']): Promise<TestDatabase & { drop(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 's3-sqlite-'));
    const url = `sqlite:${join(dir, 'test.sqlite')}`;
    const ds = await openDatabase(url);
    return {
      kind,
      url,
      ds,
      drop: async () => {
        await ds.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const base = new URL(TEST_MYSQL_URL);
  const name = `s3t_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = await createConnection({
    host: base.hostname,
    port: Number(base.port || 3306),
    user: decodeURIComponent(base.username),
    password: decodeURIComponent(base.password),
  });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  const url = Object.assign(new URL(TEST_MYSQL_URL), { pathname: `/${name}` }).toString();
  const ds = await openDatabase(url);
  return {
    kind,
    url,
    ds,
    drop: async () => {
      await ds.destroy();
      await admin.query(`DROP DATABASE \`${name}\``);
      await admin.end();
    },
  };
}

/** Declares `body` once per engine: `describe('<title> [sqlite]')` and `describe('<title> [mariadb]')`. */
export function describeEachDatabase(title: string, body: (db: () => TestDatabase) => void): void {
  for (const kind of ['sqlite', 'mariadb'] as const) {
    describe(`${title} [${kind}]`, function () {
      let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
      before(async function () {
        this.timeout(60_000);
        db = await createTestDatabase(kind);
      });
      after(async () => db?.drop());
      body(() => {
        if (!db) throw new Error(`${kind} database was not created`);
        return db;
      });
    });
  }
}
