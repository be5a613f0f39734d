/** The Temporal CLI dev server (SQLite-backed) as a child process, with the project's custom search attributes. */
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { getFreePorts, isPortOpen } from './ports';
import { startProcess, waitFor, type ManagedProcess } from './process';
import { TEMPORAL_BIN } from './tools';
import { JOB_SEARCH_ATTRIBUTES as JOB_ATTRIBUTE_NAMES } from '../../workflows/contract';

export type SearchAttributeKind = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

/** The search attributes the job workflow sets (names from the workflow contract), all Keyword. */
export const JOB_SEARCH_ATTRIBUTES: Record<string, SearchAttributeKind> = Object.fromEntries(
  Object.values(JOB_ATTRIBUTE_NAMES).map((name) => [name, 'Keyword']),
);

// temporal.api.enums.v1.IndexedValueType
const INDEXED_VALUE_TYPE: Record<SearchAttributeKind, number> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
  KeywordList: 7,
};

export interface TemporalOptions {
  /** Frontend gRPC port (default: a free port). */
  port?: number;
  /** Web UI port (default: a free port). */
  uiPort?: number;
  /** No Web UI (tests do not need it). */
  headless?: boolean;
  /** SQLite file; workflows survive restarts when it is kept. */
  dbFile: string;
  namespace?: string;
  searchAttributes?: Record<string, SearchAttributeKind>;
  log?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface TemporalServer {
  /** host:port for Connection.connect / TEMPORAL_ADDRESS. */
  address: string;
  namespace: string;
  uiUrl: string | null;
  /** The child process (exited / recentOutput for crash reports). */
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` and resolves once the namespace answers and the search attributes exist. */
export async function startTemporal(opts: TemporalOptions): Promise<TemporalServer> {
  const [freeA, freeB] = await getFreePorts(2);
  const port = opts.port ?? freeA;
  const uiPort = opts.uiPort ?? freeB;
  const namespace = opts.namespace ?? 'default';
  const address = `127.0.0.1:${port}`;
  // A fixed port already in use would make us "connect" to someone else's server (another `npm run dev`).
  for (const p of [opts.port, opts.headless ? undefined : opts.uiPort]) {
    if (p !== undefined && (await isPortOpen(p))) {
      throw new Error(`port ${p} for Temporal is already in use (is another stack running?)`);
    }
  }
  fs.mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });

  // --ip binds the frontend (and the UI) to loopback only; http/metrics ports default to free ports.
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', opts.dbFile];
  args.push('--log-level', 'warn', '--log-format', 'text');
  // WAL: the dev server writes all workflow state through one SQLite connection, and the default rollback journal
  // caps orchestration at ~75 items/s on this machine; WAL takes it to ~135 (bench/pipeline). synchronous=normal
  // stays durable across a process crash (only an OS crash can lose the last commits), which is what a dev store needs.
  args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  if (namespace !== 'default') args.push('--namespace', namespace); // "default" always exists
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');

  const proc = startProcess({ name: 'temporal', command: TEMPORAL_BIN, args, log: opts.log });
  try {
    const connection = await connectWhenReady(address, namespace, proc, opts.startTimeoutMs ?? 60_000);
    try {
      await ensureSearchAttributes(connection, namespace, opts.searchAttributes ?? {});
    } finally {
      await connection.close();
    }
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    address,
    namespace,
    uiUrl: opts.headless ? null : `http://127.0.0.1:${uiPort}`,
    process: proc,
    stop: async () => {
      await proc.stop();
    },
  };
}

async function connectWhenReady(address: string, namespace: string, proc: ManagedProcess, timeoutMs: number): Promise<Connection> {
  let connection: Connection | undefined;
  try {
    await waitFor(
      `Temporal at ${address}`,
      async () => {
        connection ??= await Connection.connect({ address, connectTimeout: 1000 });
        await connection.workflowService.describeNamespace({ namespace });
        return true;
      },
      { timeoutMs, proc },
    );
  } catch (err) {
    await connection?.close();
    throw err;
  }
  return connection!;
}

/** Registers the missing custom search attributes (the CLI's --search-attribute only applies to a new db file). */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  wanted: Record<string, SearchAttributeKind>,
): Promise<void> {
  const list = async () => (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
  const existing = await list();
  const missing = Object.entries(wanted).filter(([name]) => !(name in existing));
  for (const [name, kind] of Object.entries(wanted)) {
    const have = existing[name] as unknown as number | undefined;
    if (have !== undefined && have !== INDEXED_VALUE_TYPE[kind]) {
      throw new Error(`search attribute ${name} exists with type ${have}, expected ${kind}`);
    }
  }
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map(([name, kind]) => [name, INDEXED_VALUE_TYPE[kind]])),
  });
  await waitFor('search attributes to be registered', async () => {
    const now = await list();
    return missing.every(([name]) => name in now);
  });
}
