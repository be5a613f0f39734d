/**
 * Failures of the database or the object store are outages, not bugs: API.md promises 503 UNAVAILABLE (with
 * Retry-After) for them, never 500 INTERNAL. This recognises them by what the drivers report.
 */
import { ApiError, RETRY_AFTER } from './errors';

/** Socket-level codes of a dependency that is down or unreachable (Node, mysql2, better-sqlite3). */
const DOWN_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_WAIT_TIMEOUT',
  'SQLITE_BUSY',
  'SQLITE_IOERR',
]);

/** The chain of causes of an error (TypeORM wraps the driver's error, the AWS SDK its socket error). */
function* causes(err: unknown): Generator<Record<string, unknown>> {
  let e = err as Record<string, unknown> | undefined;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    yield e;
    e = (e.driverError ?? e.cause) as Record<string, unknown> | undefined;
  }
}

/** Whether `err` says the database or the object store is down, unreachable or overloaded. */
export function isDependencyDown(err: unknown): boolean {
  for (const e of causes(err)) {
    if (typeof e.code === 'string' && DOWN_CODES.has(e.code)) return true;
    if (typeof e.errno === 'string' && DOWN_CODES.has(e.errno)) return true;
    // mysql2: a pool or connection that already failed; TypeORM: a data source whose connection went away.
    if (/Pool is closed|Can't add new command when connection is in closed state|Connection lost/i.test(String(e.message))) return true;
    // AWS SDK: the store answered 5xx (SlowDown, InternalError, ServiceUnavailable) after its own retries.
    const meta = e.$metadata as { httpStatusCode?: number } | undefined;
    if (meta?.httpStatusCode !== undefined && meta.httpStatusCode >= 500) return true;
    if (e.name === 'TimeoutError' || e.name === 'RequestTimeout') return true;
  }
  return false;
}

/** The 503 for a dependency outage. */
export function dependencyUnavailable(): ApiError {
  return new ApiError('UNAVAILABLE', 'a backing service is unavailable, try again shortly', undefined, RETRY_AFTER);
}
