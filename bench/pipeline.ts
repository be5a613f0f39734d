/**
 * `npm run bench:pipeline [-- options]`: one job of N items (200) through the real stack — Temporal dev server,
 * SeaweedFS, the API over HTTP, the orchestration worker — with calibrated stand-in GPU workers (bench/pipeline/
 * standIn.ts: one serialized "GPU" per worker holding 24.5 ms + 20 ms per concept, sleep-based), 3 concepts.
 * Scenarios: 1 GPU worker, 4 GPU workers on the same queue, and a zero-cost model (pure orchestration). Prints
 * items/s, GPU-busy fraction, p50/p99 item latency, history size, CPU per process, and the targets with PASS/MISS.
 *
 * Options:
 *   --items N            items per job (200)
 *   --workers N          GPU workers of the fleet scenario (4)
 *   --slots N            maxConcurrentActivityTaskExecutions per GPU worker (8)
 *   --in-flight N        JOB_MAX_IN_FLIGHT for the jobs (default: the config default)
 *   --zero-workers N     GPU workers of the zero-cost scenario (1)
 *   --scenarios a,b,c    of: 1w, <N>w (e.g. 4w, 8w), zero (default: 1w,4w,zero); a `:<J>j` suffix splits the items
 *                        over J concurrent jobs (diagnostic, e.g. zero:4j)
 *   --inline             run the stand-in GPU workers in this process instead of child processes
 *   --wft-slots N        orchestration worker maxConcurrentWorkflowTaskExecutions
 *   --wft-pollers N      orchestration worker workflow task pollers (simple maximum)
 *   --orch-act-slots N   orchestration worker maxConcurrentActivityTaskExecutions
 *   --db URL             mysql://user@host:port/db: run on a temporary database of that server (default: SQLite file)
 *   --encode-ms X --decode-ms Y   the stand-in's cost model (24.5, 20)
 *   --wait-quiet S       before each scenario, wait up to S seconds for a second in which the machine is < 25 % busy
 *                        (for shared machines; the report shows the CPU other processes used during each run anyway)
 *   --temporal-memory    diagnostic: Temporal dev server with its in-memory store instead of a SQLite file
 *   --temporal-wal       diagnostic: the dev server's SQLite in WAL mode with synchronous=NORMAL (the two pragmas below)
 *   --temporal-arg A     diagnostic, repeatable: extra `temporal server start-dev` argument, e.g.
 *                        --temporal-arg=--sqlite-pragma=journal_mode=wal
 *   --dump FILE          also write every scenario's activity records (epoch ms) as JSON, for timeline analysis
 *
 * Everything it starts (Temporal, SeaweedFS, workers, child processes, the temp DB and directory) is stopped and
 * removed at the end, on failure and on Ctrl-C.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, type Worker, type WorkerOptions } from '@temporalio/worker';
import { createConnection } from 'mysql2/promise';
import pino from 'pino';
import sharp from 'sharp';
import type { DataSource } from 'typeorm';
import { createCredits } from '../activities/credits';
import { createStorage, type Storage } from '../activities/storage';
import { createOrchestrationWorker } from '../activities/worker';
import { createApp } from '../api/app';
import { issueToken } from '../api/auth';
import { parseConfig, type Config } from '../domain/config';
import { openDatabase } from '../entities/dataSource';
import { interiorScene } from '../scripts/demo/scenes';
import { startStack, type Stack } from '../scripts/stack';
import { jobWorkflowId } from '../workflows/contract';
import { diff, machineBusyPct, pidsByName, snapshot, type CpuReport, type CpuSnapshot } from './pipeline/cpu';
import { killAllChildren, startFleet, type Fleet } from './pipeline/fleet';
import { benchSdkLogger, nowMs, type ActivityRecord, type GpuModel } from './pipeline/standIn';
import { delta, findServerMetrics, histogram, merge, metricsAddress, requestLatencies, scrape, type Samples } from './pipeline/sdkMetrics';
import { quantile, sum, table } from './pipeline/stats';
import { startVariantStack } from './pipeline/variantStack';

// ---------------------------------------------------------------------------------------------------------------
// options

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
function num(name: string, fallback?: number): number | undefined {
  const v = arg(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number, got ${v}`);
  return n;
}

const ITEMS = num('items', 200)!;
const WORKERS = num('workers', 4)!;
const SLOTS = num('slots', 8)!;
const IN_FLIGHT = num('in-flight');
const ZERO_WORKERS = num('zero-workers', 1)!;
const INLINE = process.argv.includes('--inline');
const DB_URL = arg('db');
const H200: GpuModel = { encodeMs: num('encode-ms', 24.5)!, decodeMs: num('decode-ms', 20)! };
const ZERO: GpuModel = { encodeMs: 0, decodeMs: 0 };
const CONCEPTS = ['wall', 'floor', 'sofa'];
const SCENARIOS = (arg('scenarios') ?? `1w,${WORKERS}w,zero`).split(',');
const ORCH_OPTIONS: Partial<WorkerOptions> = {
  ...(num('wft-slots') !== undefined ? { maxConcurrentWorkflowTaskExecutions: num('wft-slots') } : {}),
  ...(num('wft-pollers') !== undefined ? { workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: num('wft-pollers')! } } : {}),
  ...(num('orch-act-slots') !== undefined ? { maxConcurrentActivityTaskExecutions: num('orch-act-slots') } : {}),
};
const DUMP = arg('dump');
const TEMPORAL_MEMORY = process.argv.includes('--temporal-memory');
const TEMPORAL_ARGS = [
  ...(process.argv.includes('--temporal-wal') ? ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'] : []),
  ...process.argv.filter((a) => a.startsWith('--temporal-arg=')).map((a) => a.slice('--temporal-arg='.length)),
];
const WAIT_QUIET_S = num('wait-quiet', 0)!;
const JOB_TIMEOUT_MS = 5 * 60_000;
/** This process's Prometheus endpoint of the Temporal SDK core (set in main). */
let METRICS = '';

// ---------------------------------------------------------------------------------------------------------------
// lifecycle: everything started is registered here and undone in reverse order, once

const cleanups: { what: string; fn: () => Promise<unknown> | unknown }[] = [];
const onCleanup = (what: string, fn: () => Promise<unknown> | unknown) => cleanups.push({ what, fn });
let cleaning: Promise<void> | undefined;
/** Aborted when the bench stops: in-flight HTTP calls (the SSE stream) end at once. */
const stopping = new AbortController();
function cleanup(): Promise<void> {
  return (cleaning ??= (async () => {
    stopping.abort();
    killAllChildren();
    for (const c of cleanups.reverse()) {
      try {
        await withTimeout(Promise.resolve(c.fn()), 20_000, c.what);
      } catch (err) {
        console.error(`cleanup: ${c.what}: ${err instanceof Error ? err.message : err}`);
      }
    }
  })());
}
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(t));
}
// While stopping, late callbacks of closed clients (gRPC retries, sockets) may throw: they must not cut the cleanup
// short. Before that, an unexpected error stops everything like a failure.
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (err: unknown) => {
    if (cleaning) return;
    console.error(`${event}: ${err instanceof Error ? (err.stack ?? err.message) : err}`);
    void cleanup().then(() => process.exit(1));
  });
}
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130); // second Ctrl-C: now (process.ts's exit hook still stops the servers)
    interrupted = true;
    console.error(`\n${signal}: stopping everything…`);
    void cleanup().then(() => process.exit(130));
  });
}

const say = (msg: string) => console.log(`[bench] ${msg}`);

// ---------------------------------------------------------------------------------------------------------------
// the system under test

interface System {
  stack: Stack;
  env: Record<string, string>;
  ds: DataSource;
  dbKind: string;
  storage: Storage;
  connection: NativeConnection;
  client: Client;
  orchestration: Worker;
  token: string;
  images: Buffer[];
  dbPids: number[];
  /** The Temporal server's Prometheus endpoint, when found. */
  serverMetrics: string | null;
}

async function openBenchDatabase(dir: string): Promise<{ url: string; kind: string; ds: DataSource }> {
  if (!DB_URL) {
    const url = `sqlite:${join(dir, 'bench.sqlite')}`;
    const ds = await openDatabase(url);
    onCleanup('close SQLite', () => ds.destroy());
    return { url, kind: 'SQLite file (better-sqlite3, WAL)', ds };
  }
  const base = new URL(DB_URL);
  if (!/^(mysql|mariadb):$/.test(base.protocol)) throw new Error('--db: expected mysql://user[:pass]@host:port/db');
  const name = `bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = await createConnection({
    host: base.hostname,
    port: Number(base.port || 3306),
    user: decodeURIComponent(base.username),
    password: decodeURIComponent(base.password),
  });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  onCleanup(`drop database ${name}`, async () => {
    await admin.query(`DROP DATABASE \`${name}\``);
    await admin.end();
  });
  const url = Object.assign(new URL(DB_URL), { pathname: `/${name}` }).toString();
  const ds = await openDatabase(url);
  onCleanup('close MySQL pool', () => ds.destroy());
  const [[version]] = (await admin.query('SELECT VERSION() AS v')) as any;
  return { url, kind: `MySQL protocol (${version.v}), temp database ${name}`, ds };
}

async function startSystem(): Promise<System> {
  const dir = mkdtempSync(join(tmpdir(), 's3-bench-pipeline-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  onCleanup(`remove ${dir}`, removeDir);
  process.once('exit', removeDir); // also on a second Ctrl-C (the servers' process groups are ended by process.ts)

  const stackLog: string[] = [];
  const base = parseConfig({});
  say('starting Temporal dev server + SeaweedFS on free ports…');
  const log = (source: string, line: string) => stackLog.push(`[${source}] ${line}`);
  const stack =
    TEMPORAL_MEMORY || TEMPORAL_ARGS.length
      ? await startVariantStack(base, { dataDir: dir, memory: TEMPORAL_MEMORY, args: TEMPORAL_ARGS, log })
      : await startStack(base, { dataDir: dir, log });
  onCleanup('stop Temporal + SeaweedFS', () => stack.stop());
  void stack.exited.then((name) => {
    if (cleaning) return;
    console.error(`${name} exited unexpectedly; last output:\n${stackLog.slice(-20).join('\n')}`);
    void cleanup().then(() => process.exit(1));
  });

  const db = await openBenchDatabase(dir);
  const suffix = Math.random().toString(36).slice(2, 8);
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    JWT_SECRET: `bench-${suffix}-0123456789abcdef`,
    DATABASE_URL: db.url,
    TEMPORAL_TASK_QUEUE: `bench-jobs-${suffix}`,
    ...stack.env,
    ...(IN_FLIGHT !== undefined ? { JOB_MAX_IN_FLIGHT: String(IN_FLIGHT) } : {}),
  };
  const config = parseConfig(env);
  const storage = createStorage(config);
  onCleanup('storage client', () => storage.destroy());

  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  onCleanup('worker connection', () => connection.close());
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  onCleanup('client connection', () => clientConnection.close());
  const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });

  say('bundling the workflows and starting the orchestration worker…');
  const orchestration = await createOrchestrationWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ds: db.ds,
    options: ORCH_OPTIONS,
  });
  const orchRun = orchestration.run();
  onCleanup('orchestration worker', async () => {
    if (orchestration.getState() === 'RUNNING') orchestration.shutdown();
    await orchRun;
  });
  void orchRun.catch((err) => {
    if (cleaning) return;
    console.error(`orchestration worker failed: ${err instanceof Error ? err.stack : err}`);
    void cleanup().then(() => process.exit(1));
  });

  // A studio user (500 items per job) with plenty of credits, and a token signed like the API signs them.
  const credits = createCredits(db.ds);
  const user = await credits.createUser('studio');
  await credits.grant(user.id, 1_000_000, `bench:${suffix}`);
  const token = issueToken(config.JWT_SECRET, user.id, 3600);

  // A few small distinct JPEGs (the stand-in never reads them; confirm-upload checks they exist).
  const images = await Promise.all(
    Array.from({ length: 8 }, (_, i) => {
      const s = interiorScene(i, 96, 72);
      return sharp(s.rgb, { raw: { width: s.width, height: s.height, channels: 3 } })
        .jpeg({ quality: 80 })
        .toBuffer();
    }),
  );
  const dbPids = DB_URL ? pidsByName(['mariadbd', 'mysqld']) : [];
  const serverMetrics = await findServerMetrics(stack.temporal.process.pid);
  return { stack, env, ds: db.ds, dbKind: db.kind, storage, connection, client, orchestration, token, images, dbPids, serverMetrics };
}

/** The API for one scenario: its own GPU task queue, so no worker of another scenario can take its items. */
async function startApi(sys: System, gpuTaskQueue: string): Promise<{ url: string; config: Config; close(): Promise<void> }> {
  const config = parseConfig({ ...sys.env, GPU_TASK_QUEUE: gpuTaskQueue });
  const app = createApp({
    config,
    ds: sys.ds,
    credits: createCredits(sys.ds),
    log: pino({ level: 'silent' }),
    checks: { database: () => sys.ds.query('SELECT 1') },
    jobs: { storage: sys.storage, temporal: sys.client },
  });
  app.silent = true; // streams cut by a Ctrl-C are expected, not worth a stack trace
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // an open event stream must not hold the close
    }));
  onCleanup('API server', close);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, config, close };
}

// ---------------------------------------------------------------------------------------------------------------
// driving one job through the public API

async function call(url: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
function expect(res: { status: number; body: any }, status: number, what: string): any {
  if (res.status !== status) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data;
}

async function mapLimit<T>(xs: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, xs.length) }, async () => {
      while (next < xs.length) await fn(xs[next++]);
    }),
  );
}

/** Reads `GET /jobs/{id}/events` until the `end` event (the full final JobView). */
async function waitForEnd(url: string, token: string, jobId: string): Promise<any> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), JOB_TIMEOUT_MS);
  try {
    stopping.signal.addEventListener('abort', () => ac.abort(), { once: true });
    const res = await fetch(`${url}/jobs/${jobId}/events`, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      signal: ac.signal,
    });
    if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error('the event stream closed before the end event');
      buf += decoder.decode(value, { stream: true });
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === 'error') throw new Error(`event stream error: ${data}`);
        if (event === 'end') {
          ac.abort();
          return JSON.parse(data!);
        }
      }
    }
  } catch (err) {
    if (stopping.signal.aborted) throw new Error('stopped');
    if (ac.signal.aborted && (err as Error).name === 'AbortError')
      throw new Error(`job ${jobId} did not end within ${JOB_TIMEOUT_MS / 1000} s`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// one scenario

interface Scenario {
  name: string;
  workers: number;
  model: GpuModel;
  items: number;
  /** Jobs the items are split over (1; more only in diagnostic scenarios like `zero:2j`). */
  jobs: number;
}

interface Outcome {
  s: Scenario;
  jobIds: string[];
  inFlight: number;
  done: number;
  failed: number;
  retries: number;
  /** execute request sent -> HTTP 202 received. */
  executeMs: number;
  /** execute request sent -> the workflow accepted the update (t0). */
  acceptedMs: number;
  wallS: number;
  itemsPerS: number;
  /** busy / (workers × window), window = first GPU start .. last completion of the fleet. */
  fleetBusy: number;
  /** Per worker: busy / (its first GPU start .. its last completion). */
  workerBusy: number[];
  perWorkerItems: number[];
  latency: number[];
  /** segment completed on the worker -> applyRule scheduled by the server (a round trip through the workflow). */
  hop: number[];
  /** Time an activity task waited in the task queue (scheduled -> started on a worker). */
  queueWait: number[];
  settledAfterMs: number;
  events: number;
  workflowTasks: number;
  cpu: CpuReport;
  loopP99: number;
  t0: number;
  records: ActivityRecord[];
  /** SDK metrics over the run: this process (orchestration worker; + stand-ins when inline), the GPU children. */
  orchSdk: Samples;
  gpuSdk: Samples;
  /** The Temporal server's own metrics over the run (seconds). */
  server: Samples;
  /** The (first) job's history as [event kind, epoch ms] (for --dump). */
  history: [string, number][];
}

/** An event's time in epoch ms. */
function eventMs(e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }): number {
  return e.eventTime ? Number(e.eventTime.seconds) * 1000 + (e.eventTime.nanos ?? 0) / 1e6 : NaN;
}

async function runScenario(sys: System, s: Scenario): Promise<Outcome> {
  const queue = `bench-gpu-${s.name.replace(/\W/g, '')}-${Math.random().toString(36).slice(2, 8)}`;
  const api = await startApi(sys, queue);
  let fleet: Fleet | undefined;
  try {
    fleet = await startFleet({
      count: s.workers,
      inline: INLINE,
      address: sys.env.TEMPORAL_ADDRESS,
      namespace: sys.env.TEMPORAL_NAMESPACE,
      taskQueue: queue,
      model: s.model,
      slots: SLOTS,
    });
    const { url } = api;
    // The items split over `s.jobs` jobs (one job unless a diagnostic scenario asks for more).
    const sizes = Array.from({ length: s.jobs }, (_, j) => Math.floor(s.items / s.jobs) + (j < s.items % s.jobs ? 1 : 0));
    const jobIds: string[] = [];
    for (const size of sizes) {
      const created = expect(
        await call(url, sys.token, 'POST', '/jobs', { preset_id: 'interior', item_count: size, content_type: 'image/jpeg' }),
        201,
        'POST /jobs',
      );
      const jobId: string = created.job.id;
      await mapLimit(created.uploads as { idx: number; url: string; headers: Record<string, string> }[], 16, async (u) => {
        const res = await fetch(u.url, { method: 'PUT', headers: u.headers, body: sys.images[u.idx % sys.images.length] });
        if (!res.ok) throw new Error(`upload ${u.idx}: HTTP ${res.status} ${await res.text()}`);
      });
      expect(await call(url, sys.token, 'POST', `/jobs/${jobId}/confirm-upload`), 200, 'confirm-upload');
      jobIds.push(jobId);
    }

    const groups = {
      temporal: [sys.stack.temporal.process.pid],
      bench: [process.pid],
      'gpu workers': fleet.pids,
      seaweedfs: [sys.stack.s3.process.pid],
      ...(sys.dbPids.length ? { mariadb: sys.dbPids } : {}),
    };
    const loop = monitorEventLoopDelay({ resolution: 10 });
    const sdkBefore = await scrape(METRICS);
    const serverBefore = sys.serverMetrics ? await scrape(sys.serverMetrics) : new Map();
    // CPU snapshots every 100 ms: the window is cut at the last item's completion, not at the (later) end event.
    const before = snapshot(groups);
    const snaps: CpuSnapshot[] = [before];
    const sampler = setInterval(() => snaps.push(snapshot(groups)), 100);
    loop.enable();
    const runs = await Promise.all(
      jobIds.map(async (jobId) => {
        const sent = nowMs();
        expect(await call(url, sys.token, 'POST', `/jobs/${jobId}/execute`, { concepts: CONCEPTS, protect: [] }), 202, 'execute');
        const t0 = nowMs();
        const view = await waitForEnd(url, sys.token, jobId);
        return { jobId, sent, t0, view };
      }),
    );
    loop.disable();
    clearInterval(sampler);
    snaps.push(snapshot(groups));
    const handles = jobIds.map((id) => sys.client.workflow.getHandle(jobWorkflowId(id)));
    await Promise.all(handles.map((h) => h.result()));
    const orchSdk = delta(sdkBefore, await scrape(METRICS));
    const server: Samples = sys.serverMetrics ? delta(serverBefore, await scrape(sys.serverMetrics)) : new Map();
    const stopped = await fleet.stop();
    fleet = undefined;
    const gpuSdk = merge(stopped.sdk);
    const histories = await Promise.all(handles.map(async (h) => (await h.fetchHistory()).events ?? []));
    // t0 of a job: when its workflow accepted the `execute` update (history event time). Items are scheduled in
    // that same workflow task, before the HTTP 202 reaches the client, so the 202's arrival would start the clock late.
    const t0Of = new Map(
      runs.map((r, j) => {
        const accepted = histories[j].find(
          (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'execute',
        );
        return [r.jobId, accepted ? eventMs(accepted) : r.t0];
      }),
    );
    const records = stopped.records.filter((r) => t0Of.has(r.jobId));
    const events = histories.flat();
    const workflowTasks = events.filter((e) => e.workflowTaskCompletedEventAttributes).length;

    // --- figures from what the stand-ins saw ---
    const last = (kind: ActivityRecord['kind']) => {
      const m = new Map<string, ActivityRecord>();
      for (const r of records) {
        const key = `${r.jobId}/${r.idx}`;
        if (r.kind === kind && (!m.has(key) || m.get(key)!.attempt < r.attempt)) m.set(key, r);
      }
      return m;
    };
    const segs = last('segment');
    const applies = last('applyRule');
    const t0 = Math.min(...t0Of.values());
    const endAll = Math.max(...[...applies.values()].map((r) => r.end));
    const wallS = (endAll - t0) / 1000;
    const cpu = diff(before, snaps.find((x) => x.at >= endAll) ?? snaps[snaps.length - 1]);
    const gpuRecs = records.filter((r) => r.gpuStart !== undefined);
    const busyOf = (rs: ActivityRecord[]) => sum(rs.map((r) => r.gpuEnd! - r.gpuStart!));
    const workerBusy: number[] = [];
    const perWorkerItems: number[] = [];
    for (let w = 0; w < s.workers; w++) {
      const mine = records.filter((r) => r.w === w);
      const gpu = mine.filter((r) => r.gpuStart !== undefined);
      perWorkerItems.push(mine.filter((r) => r.kind === 'segment').length);
      if (gpu.length) workerBusy.push(busyOf(gpu) / (Math.max(...mine.map((r) => r.end)) - Math.min(...gpu.map((r) => r.gpuStart!))));
    }
    const fleetBusy = gpuRecs.length ? busyOf(gpuRecs) / (s.workers * (endAll - Math.min(...gpuRecs.map((r) => r.gpuStart!)))) : NaN;
    const hop = [...applies].flatMap(([key, a]) => (segs.has(key) ? [a.scheduled - segs.get(key)!.end] : []));
    const finished = Math.max(...runs.map((r) => (r.view.finished_at ? Date.parse(r.view.finished_at) : NaN)));
    return {
      s,
      jobIds,
      inFlight: api.config.JOB_MAX_IN_FLIGHT,
      done: sum(runs.map((r) => r.view.progress.done)),
      failed: sum(runs.map((r) => r.view.progress.failed)),
      retries: records.filter((r) => r.attempt > 1).length,
      executeMs: Math.max(...runs.map((r) => r.t0 - r.sent)),
      acceptedMs: Math.max(...runs.map((r) => t0Of.get(r.jobId)! - r.sent)),
      wallS,
      itemsPerS: applies.size / wallS,
      fleetBusy,
      workerBusy,
      perWorkerItems,
      latency: [...applies.values()].map((a) => a.end - t0Of.get(a.jobId)!),
      hop,
      queueWait: records.map((r) => r.start - r.scheduled),
      settledAfterMs: finished - endAll,
      events: events.length,
      workflowTasks,
      cpu,
      loopP99: loop.percentile(99) / 1e6,
      t0,
      records,
      orchSdk,
      gpuSdk,
      server,
      history: histories[0].map((e) => [
        Object.keys(e)
          .find((k) => k.endsWith('EventAttributes') && (e as any)[k])
          ?.replace(/EventAttributes$/, '') ?? '?',
        eventMs(e),
      ]),
    };
  } finally {
    if (fleet) fleet.kill();
    await api.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// report

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : 'n/a');

function describe(o: Outcome): string {
  const lines: string[] = [];
  const c = o.cpu;
  const procs = Object.entries(c.procs)
    .map(([k, v]) => `${k} ${f0(v)} %`)
    .join(', ');
  const threads = Object.entries(c.threads)
    .filter(([, v]) => v >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${f0(v)} %`)
    .join(', ');
  lines.push(
    `${o.s.name}: job${o.jobIds.length > 1 ? 's' : ''} ${o.jobIds.join(', ')} — ${o.done} done, ${o.failed} failed, ${o.retries} retried attempts; JOB_MAX_IN_FLIGHT ${o.inFlight}`,
  );
  lines.push(
    `  execute: accepted by the workflow ${f0(o.acceptedMs)} ms after the request (t0), HTTP 202 after ${f0(o.executeMs)} ms; job settled ${f0(o.settledAfterMs)} ms after the last item (workflow clock)`,
  );
  lines.push(
    `  history: ${o.events} events, ${o.workflowTasks} workflow tasks (${f1((2 * o.done) / o.workflowTasks)} GPU activity completions per workflow task)`,
  );
  lines.push(
    `  workflow round trip (segment done -> applyRule scheduled): p50 ${f1(quantile(o.hop, 0.5))} ms, p99 ${f1(quantile(o.hop, 0.99))} ms`,
  );
  lines.push(
    `  task-queue wait (scheduled -> started): p50 ${f1(quantile(o.queueWait, 0.5))} ms, p99 ${f1(quantile(o.queueWait, 0.99))} ms`,
  );
  if (o.workerBusy.length)
    lines.push(`  per-worker GPU busy: ${o.workerBusy.map((b) => pct(b)).join(', ')}; segments per worker: ${o.perWorkerItems.join(', ')}`);
  else lines.push(`  activities per worker (segments): ${o.perWorkerItems.join(', ')}`);
  lines.push(
    `  CPU over ${f1(c.wallS)} s (% of one core; ${c.cores} cores = ${c.cores * 100} %): machine ${f0(c.machine)} %, ${procs}, other processes ${f0(c.others)} %`,
  );
  lines.push(`  bench process threads: ${threads}; event-loop delay p99 ${f1(o.loopP99)} ms`);
  const wft = histogram(o.orchSdk, 'temporal_workflow_task_execution_latency');
  const wfs = histogram(o.orchSdk, 'temporal_workflow_task_schedule_to_start_latency');
  const ops = (s: Samples) =>
    requestLatencies(s)
      .slice(0, 4)
      .map((r) => `${r.operation} ${r.count}× ${f1(r.avgMs)} ms`)
      .join(', ');
  lines.push(
    `  orchestration worker (SDK metrics): ${wft.count} workflow activations, mean ${f1(wft.avgMs)} ms in the worker; WFT schedule-to-start mean ${f1(wfs.avgMs)} ms`,
  );
  lines.push(`    gRPC as seen by the bench process: ${ops(o.orchSdk)}`);
  if (o.gpuSdk.size) {
    const ast = histogram(o.gpuSdk, 'temporal_activity_schedule_to_start_latency');
    lines.push(`  GPU workers (SDK metrics): activity schedule-to-start mean ${f1(ast.avgMs)} ms; gRPC: ${ops(o.gpuSdk)}`);
  }
  if (o.server.size) {
    const sv = o.server;
    const ms = (h: { avgMs: number }) => f1(1000 * h.avgMs); // the server reports seconds
    const writes = histogram(sv, 'persistence_latency', ['operation=UpdateWorkflowExecution']);
    const lock = histogram(sv, 'cache_latency', ['operation=HistoryCacheGetOrCreate']);
    const hist = (op: string) => histogram(sv, 'service_latency', [`operation=${op}`, 'service_name=history']);
    const persistence = requestLatencies(sv, 'persistence_latency')
      .slice(0, 4)
      .map((r) => `${r.operation} ${r.count}× ${f1(1000 * r.avgMs)} ms`)
      .join(', ');
    lines.push(
      `  Temporal server (its /metrics): ${writes.count} workflow mutable-state writes (${f1(writes.count / o.done)} per item), mean ${ms(writes)} ms; ` +
        `wait for the workflow's lock (history cache GetOrCreate) mean ${ms(lock)} ms over ${lock.count} acquisitions`,
    );
    lines.push(
      `    history service: RecordActivityTaskStarted ${ms(hist('RecordActivityTaskStarted'))} ms, RespondActivityTaskCompleted ${ms(hist('RespondActivityTaskCompleted'))} ms, ` +
        `RecordWorkflowTaskStarted ${ms(hist('RecordWorkflowTaskStarted'))} ms, RespondWorkflowTaskCompleted ${ms(hist('RespondWorkflowTaskCompleted'))} ms (means)`,
    );
    lines.push(`    persistence, most time first: ${persistence}`);
  }
  return lines.join('\n');
}

function report(outcomes: Outcome[], sys: System): void {
  const one = outcomes.find((o) => o.s.name === '1w');
  const many = outcomes.find((o) => o.s.name === `${WORKERS}w`);
  const zero = outcomes.find((o) => o.s.name === 'zero');
  const label = (o: Outcome) =>
    `${o.s.model.encodeMs + o.s.model.decodeMs > 0 ? 'H200 stand-in' : 'zero-cost'}, ${o.s.workers} worker${o.s.workers > 1 ? 's' : ''}` +
    (o.s.jobs > 1 ? `, ${o.s.jobs} jobs` : '');
  const rows = outcomes.map((o) => [
    label(o),
    String(o.done),
    o.wallS.toFixed(2),
    o.itemsPerS.toFixed(1),
    o.s.model.encodeMs + o.s.model.decodeMs > 0 ? pct(o.fleetBusy) : 'n/a',
    f0(quantile(o.latency, 0.5)),
    f0(quantile(o.latency, 0.99)),
    o === many && one ? `${(o.itemsPerS / one.itemsPerS).toFixed(2)}×` : '—',
    String(o.events),
  ]);
  console.log('');
  console.log(table(['scenario', 'items', 'wall s', 'items/s', 'GPU busy', 'p50 ms', 'p99 ms', 'vs 1w', 'history events'], rows));
  console.log('');
  const perGpu = 1000 / (H200.encodeMs + H200.decodeMs * CONCEPTS.length);
  console.log(
    `GPU model: ${H200.encodeMs} ms encode + ${H200.decodeMs} ms × ${CONCEPTS.length} concepts = ${H200.encodeMs + H200.decodeMs * CONCEPTS.length} ms/item -> ${perGpu.toFixed(2)} items/s per GPU at 100 % busy`,
  );
  console.log(
    'wall = execute accepted by the workflow (update-accepted event) -> last applyRule completion; items/s = items / wall; ' +
      "latency = the same start -> the item's applyRule completion (seen by the stand-in); GPU busy = Σ GPU time / (workers × first GPU start -> last completion)",
  );
  console.log('');
  const targets: string[][] = [];
  const mark = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  if (one) targets.push(['GPU busy ≥ 95 % with one worker', pct(one.fleetBusy), mark(one.fleetBusy >= 0.95)]);
  if (one && many) {
    const r = many.itemsPerS / one.itemsPerS;
    targets.push([
      `${WORKERS} workers ≥ ${(0.9 * WORKERS).toFixed(1)}× one worker's items/s`,
      `${r.toFixed(2)}×`,
      mark(r >= 0.9 * WORKERS),
    ]);
  }
  if (zero) targets.push(['zero-cost ≥ 100 items/s', `${zero.itemsPerS.toFixed(1)} items/s`, mark(zero.itemsPerS >= 100)]);
  if (targets.length) console.log(table(['target', 'reached', ''], targets));
  else console.log('(no target applies to these scenarios: 1w, 4w and zero are the targets)');
  console.log('');
  for (const o of outcomes) console.log(describe(o) + '\n');
  console.log(
    `setup: ${ITEMS} items, concepts ${CONCEPTS.join('/')}, no protect; GPU workers ${INLINE ? 'in the bench process (--inline)' : 'in child processes'}, ${SLOTS} activity slots each; app DB ${sys.dbKind}; orchestration worker options ${JSON.stringify(ORCH_OPTIONS)}; ` +
      `Temporal dev server ${TEMPORAL_MEMORY ? 'in-memory store' : 'SQLite file'}${TEMPORAL_ARGS.length ? ` + ${TEMPORAL_ARGS.join(' ')}` : ''}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // The bench decides when workers stop (Ctrl-C runs cleanup() above), not the SDK's own signal handlers.
  METRICS = await metricsAddress();
  Runtime.install({
    logger: benchSdkLogger(),
    shutdownSignals: [],
    telemetryOptions: { metrics: { prometheus: { bindAddress: METRICS } } },
  });
  const sys = await startSystem();

  const plan: Scenario[] = [];
  for (const name of SCENARIOS) {
    // `zero`, `<N>w`, optionally `:<J>j` to split the items over J concurrent jobs (a diagnostic, not a target).
    const m = /^(zero|(\d+)w)(?::(\d+)j)?$/.exec(name);
    if (!m) throw new Error(`--scenarios: unknown scenario ${name} (1w, ${WORKERS}w, zero, optionally :<J>j)`);
    const jobs = m[3] ? Number(m[3]) : 1;
    if (m[1] === 'zero') plan.push({ name, workers: ZERO_WORKERS, model: ZERO, items: ITEMS, jobs });
    else plan.push({ name, workers: Number(m[2]), model: H200, items: ITEMS, jobs });
  }
  say('warm-up job (zero-cost, 20 items; not reported)…');
  await runScenario(sys, { name: 'warmup', workers: 1, model: ZERO, items: 20, jobs: 1 });

  const outcomes: Outcome[] = [];
  for (const s of plan) {
    if (WAIT_QUIET_S > 0) {
      const until = Date.now() + WAIT_QUIET_S * 1000;
      let busy = await machineBusyPct(1000);
      while (busy >= 25 && Date.now() < until) busy = await machineBusyPct(1000);
      say(`machine ${busy.toFixed(0)} % busy (of ${cpus().length * 100} %) in the second before ${s.name}`);
    }
    say(
      `${s.name}: ${s.items} items${s.jobs > 1 ? ` in ${s.jobs} jobs` : ''}, ${s.workers} GPU worker(s), ${s.model.encodeMs + s.model.decodeMs > 0 ? 'H200 stand-in' : 'zero-cost'}…`,
    );
    const o = await runScenario(sys, s);
    say(`${s.name}: ${o.itemsPerS.toFixed(1)} items/s over ${o.wallS.toFixed(2)} s`);
    outcomes.push(o);
  }
  report(outcomes, sys);
  if (DUMP) {
    writeFileSync(
      DUMP,
      JSON.stringify(
        outcomes.map((o) => ({
          scenario: o.s.name,
          workers: o.s.workers,
          jobIds: o.jobIds,
          t0: o.t0,
          records: o.records,
          history: o.history,
        })),
      ),
    );
    say(`activity records written to ${DUMP}`);
  }
}

main()
  .then(() => cleanup())
  .then(() => process.exit(0))
  .catch(async (err) => {
    if (!cleaning) console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    await cleanup();
    process.exit(1);
  });
