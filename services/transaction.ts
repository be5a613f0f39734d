/** One way to run a DB transaction that behaves the same on MySQL/MariaDB and on SQLite. */
import { QueryFailedError, type DataSource, type EntityManager } from 'typeorm';

/** The driver's error code of a failed query, when there is one. */
export function driverCode(err: unknown): string | undefined {
  return err instanceof QueryFailedError ? (err.driverError as { code?: string })?.code : undefined;
}

/** Whether a query failed on a unique index (the idempotency guard of the ledger and of job creation). */
export function isDuplicateKey(err: unknown): boolean {
  return ['ER_DUP_ENTRY', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY'].includes(driverCode(err) ?? '');
}

// MySQL only: SQLite transactions are queued below, and another process's writer is waited out by busy_timeout.
const isRetryable = (err: unknown) => ['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'].includes(driverCode(err) ?? '');

// better-sqlite3 is one connection: two interleaved async transactions on it would nest ("cannot start a transaction
// within a transaction"), so SQLite transactions of one data source are queued. MySQL uses its pool and row locks.
const sqliteQueues = new WeakMap<DataSource, Promise<unknown>>();

/** Runs `fn` in a transaction; retries when MySQL picks it as a deadlock victim; queues transactions on SQLite. */
export async function inTransaction<T>(ds: DataSource, fn: (m: EntityManager) => Promise<T>): Promise<T> {
  if (ds.options.type === 'better-sqlite3') {
    const prev = sqliteQueues.get(ds) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => ds.transaction(fn));
    sqliteQueues.set(
      ds,
      run.catch(() => undefined),
    );
    return run;
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await ds.transaction(fn);
    } catch (err) {
      if (!isRetryable(err) || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 5 + 20 * attempt * Math.random()));
    }
  }
}
