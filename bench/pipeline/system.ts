/**
 * The system under test of bench:pipeline, started once per run: Temporal dev server + SeaweedFS (scripts/stack), the
 * app database, the orchestration worker in this process, a studio user with a token, and the images to upload. Each
 * scenario then gets its own API (scripts/stack's startSystem, without workers) on its own GPU task queue.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { NativeConnection, type WorkerOptions } from '@temporalio/worker';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { createCredits } from '../../services/credits';
import { createOrchestrationWorker } from '../../activities/worker';
import { issueToken } from '../../api/auth';
import { parseConfig, type Config } from '../../domain/config';
import { createStorage } from '../../services/storage';
import { encodeScene, interiorScene } from '../../scripts/demo/scenes';
import { startStack, type Stack } from '../../scripts/stack';
import { startSystem, workflowBundle } from '../../scripts/stack/system';
import { pidsByName } from './cpu';
import { fail, onCleanup } from './lifecycle';
import { findServerMetrics } from './sdkMetrics';
import { startVariantStack, type TemporalStore } from './variantStack';

/** How to start the system: the bench's options that shape it. */
export interface BenchSystemOptions {
  /** `--db`: a MySQL/MariaDB server URL to create a temporary database on; undefined for a temp SQLite file. */
  dbUrl?: string;
  temporalStore: TemporalStore;
  /** Extra `temporal server start-dev` arguments. */
  temporalArgs: string[];
  /** JOB_MAX_IN_FLIGHT for the jobs (default: the config default). */
  inFlight?: number;
  orchestrationOptions: Partial<WorkerOptions>;
  /** Studio users to create (1): a scenario of J concurrent jobs spreads them over the users, 10 active jobs each. */
  users?: number;
  say(msg: string): void;
}

/** The running system shared by all scenarios of a run. */
export interface BenchSystem {
  stack: Stack;
  /** The app's environment (without a GPU task queue: each scenario's API sets its own). */
  env: Record<string, string>;
  ds: DataSource;
  dbKind: string;
  /** A studio user's bearer token. */
  token: string;
  /** Bearer tokens of `users` studio users (the first is `token`): many concurrent jobs exceed one user's plan. */
  tokens: string[];
  images: Buffer[];
  /** MySQL/MariaDB server processes on this machine (with --db), for CPU accounting. */
  dbPids: number[];
  /** The Temporal server's Prometheus endpoint, when found. */
  serverMetrics: string | null;
}

/** The API of one scenario, and the Temporal client it starts workflows with. */
export interface ScenarioApi {
  url: string;
  config: Config;
  client: Client;
  close(): Promise<void>;
}

/** A temporary app database; with --db, on that server (the same helper as the DB test suites). */
async function openAppDatabase(dbUrl: string | undefined): Promise<{ url: string; kind: string; ds: DataSource }> {
  if (dbUrl && !/^(mysql|mariadb):$/.test(new URL(dbUrl).protocol)) throw new Error('--db: expected mysql://user[:pass]@host:port/db');
  // test/support/databases reads the server's URL from TEST_MYSQL_URL when it loads: set it first, then load it.
  if (dbUrl) process.env.TEST_MYSQL_URL = dbUrl;
  const { createTestDatabase } = require('../../test/support/databases') as typeof import('../../test/support/databases');
  const db = await createTestDatabase(dbUrl ? 'mariadb' : 'sqlite');
  onCleanup(dbUrl ? 'drop the temp database' : 'remove the SQLite database', () => db.drop());
  if (!dbUrl) return { url: db.url, kind: 'SQLite file (better-sqlite3, WAL)', ds: db.ds };
  const [{ v }] = await db.ds.query('SELECT VERSION() AS v');
  return { url: db.url, kind: `MySQL protocol (${v}), temp database ${new URL(db.url).pathname.slice(1)}`, ds: db.ds };
}

/** Starts the shared system; everything started is registered with the lifecycle (onCleanup) as it comes up. */
export async function startBenchSystem(opts: BenchSystemOptions): Promise<BenchSystem> {
  const dir = mkdtempSync(join(tmpdir(), 's3-bench-pipeline-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  onCleanup(`remove ${dir}`, removeDir);
  process.once('exit', removeDir); // also on a second Ctrl-C (the servers' process groups are ended by process.ts)

  const stackLog: string[] = [];
  const log = (source: string, line: string) => stackLog.push(`[${source}] ${line}`);
  const base = parseConfig({});
  opts.say('starting Temporal dev server + SeaweedFS on free ports…');
  const stack =
    opts.temporalStore === 'wal' && !opts.temporalArgs.length
      ? await startStack(base, { dataDir: dir, log })
      : await startVariantStack(base, { dataDir: dir, store: opts.temporalStore, args: opts.temporalArgs, log });
  onCleanup('stop Temporal + SeaweedFS', () => stack.stop());
  void stack.exited.then((name) => fail(`${name} exited unexpectedly; last output:\n${stackLog.slice(-20).join('\n')}`));

  const db = await openAppDatabase(opts.dbUrl);
  const suffix = Math.random().toString(36).slice(2, 8);
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    JWT_SECRET: `bench-${suffix}-0123456789abcdef`,
    DATABASE_URL: db.url,
    TEMPORAL_TASK_QUEUE: `bench-jobs-${suffix}`,
    ...stack.env,
    ...(opts.inFlight !== undefined ? { JOB_MAX_IN_FLIGHT: String(opts.inFlight) } : {}),
  };
  const config = parseConfig(env);

  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  onCleanup('worker connection', () => connection.close());
  opts.say('bundling the workflows and starting the orchestration worker…');
  const orchestration = await createOrchestrationWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ds: db.ds,
    storage: createStorage(config),
    workflowBundle: await workflowBundle(),
    options: opts.orchestrationOptions,
  });
  const orchRun = orchestration.run();
  onCleanup('orchestration worker', async () => {
    if (orchestration.getState() === 'RUNNING') orchestration.shutdown();
    await orchRun;
  });
  void orchRun.catch((err) => fail(`orchestration worker failed: ${err instanceof Error ? err.stack : err}`));

  // Studio users (500 items per job, 10 active jobs each) with plenty of credits, and tokens signed like the API's.
  const credits = createCredits(db.ds);
  const tokens: string[] = [];
  for (let u = 0; u < Math.max(1, opts.users ?? 1); u++) {
    const user = await credits.createUser('studio');
    await credits.grant(user.id, 1_000_000, `bench:${suffix}:${u}`);
    tokens.push(issueToken(config.JWT_SECRET, user.id, 3600));
  }
  const token = tokens[0];

  // A few small distinct JPEGs (the stand-in never reads them; confirm-upload checks they exist).
  const images = await Promise.all(Array.from({ length: 8 }, (_, i) => encodeScene(interiorScene(i, 96, 72))));
  const dbPids = opts.dbUrl ? pidsByName(['mariadbd', 'mysqld']) : [];
  const serverMetrics = await findServerMetrics(stack.temporal.process.pid);
  return { stack, env, ds: db.ds, dbKind: db.kind, token, tokens, images, dbPids, serverMetrics };
}

/**
 * The API for one scenario: its own GPU and CPU task queues, so no worker of another scenario can take its items, and
 * its jobs' JOB_MAX_IN_FLIGHT (`inFlight`, else the run's).
 */
export async function startScenarioApi(sys: BenchSystem, queues: { gpu: string; cpu: string }, inFlight?: number): Promise<ScenarioApi> {
  const config = parseConfig({
    ...sys.env,
    GPU_TASK_QUEUE: queues.gpu,
    CPU_TASK_QUEUE: queues.cpu,
    ...(inFlight !== undefined ? { JOB_MAX_IN_FLIGHT: String(inFlight) } : {}),
  });
  // No workers here: the run's orchestration worker is shared, and the GPU and CPU workers are the stand-ins.
  const system = await startSystem(config, sys.ds, { log: pino({ level: 'silent' }), gpu: false, cpu: false, orchestration: false });
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= system.close());
  onCleanup('API server', close);
  return { url: system.url, config, client: system.client, close };
}
