/**
 * The whole system in one test process, against the run's real Temporal dev server and SeaweedFS: the API over HTTP,
 * an orchestration worker, a CPU worker (real rule engine) and a GPU worker (real SAM3-contract segmenter on the
 * fixture model), each
 * suite on its own task queues so suites never see each other's work.
 */
import { join } from 'node:path';
import pino from 'pino';
import type { Client } from '@temporalio/client';
import type { Storage } from '../../services/storage';
import { parseConfig, type Config } from '../../domain/config';
import { ensureModelFixture } from '../../scripts/model-fixture/generate';
import { startSystem } from '../../scripts/stack/system';
import { apiClient, TEST_JWT_SECRET, type TestApi } from './api';
import type { TestDatabase } from './databases';

/** Where tests keep the generated contract-fixture model (git-ignored, regenerated when missing). */
export const TEST_MODEL_DIR = join(__dirname, '..', '..', '.data', 'model-fixture');

/** A running system for one suite. */
export interface TestSystem {
  api: TestApi;
  config: Config;
  client: Client;
  storage: Storage;
  /** Starts a GPU worker in this process (the system starts one unless `gpu: false`). */
  startGpuWorker(): Promise<void>;
  stopGpuWorker(): Promise<void>;
  /** Starts a CPU worker in this process (the system starts one unless `cpu: false`). */
  startCpuWorker(): Promise<void>;
  stopCpuWorker(): Promise<void>;
  close(): Promise<void>;
}

/** Starts API + workers on `db` with unique task queues; `env` overrides config (e.g. UPLOAD_TIMEOUT). */
export async function startTestSystem(
  db: TestDatabase,
  opts: { env?: Record<string, string>; gpu?: boolean; cpu?: boolean; orchestration?: boolean } = {},
): Promise<TestSystem> {
  ensureModelFixture(TEST_MODEL_DIR);
  const suffix = Math.random().toString(36).slice(2, 8);
  const config = parseConfig({
    ...process.env,
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    ANON_RATE_LIMIT: '1000',
    TEMPORAL_TASK_QUEUE: `s3-jobs-${suffix}`,
    GPU_TASK_QUEUE: `s3-gpu-${suffix}`,
    CPU_TASK_QUEUE: `s3-cpu-${suffix}`,
    CPU_CONCURRENCY: '2',
    MODEL_DIR: TEST_MODEL_DIR,
    BATCH_CONCURRENCY: '2',
    // Generous on a shared, loaded test machine: suites that stop a dependency set their own short deadline.
    TEMPORAL_CALL_TIMEOUT: '20s',
    ...opts.env,
  });
  const system = await startSystem(config, db.ds, {
    log: pino({ level: 'silent' }),
    gpu: opts.gpu,
    cpu: opts.cpu,
    orchestration: opts.orchestration,
  });
  return {
    api: apiClient(system.url, config),
    config,
    client: system.client,
    storage: system.storage,
    startGpuWorker: system.startGpuWorker,
    stopGpuWorker: system.stopGpuWorker,
    startCpuWorker: system.startCpuWorker,
    stopCpuWorker: system.stopCpuWorker,
    close: system.close,
  };
}

/**
 * The `sizes` of a create body: the files' byte lengths, or `n` placeholder sizes for a job whose inputs the test
 * never uploads (its tickets are signed for those sizes).
 */
export function uploadSizes(files: readonly Buffer[] | number): number[] {
  return typeof files === 'number' ? Array<number>(files).fill(1024) : files.map((f) => f.length);
}

/** Uploads `files` with the presigned PUTs of a create response, as the app does (plain HTTP, no SDK). */
export async function uploadAll(uploads: { idx: number; url: string; headers: Record<string, string> }[], files: Buffer[]): Promise<void> {
  await Promise.all(
    uploads.map(async (u) => {
      const res = await fetch(u.url, { method: 'PUT', headers: u.headers, body: files[u.idx] });
      if (!res.ok) throw new Error(`upload ${u.idx} failed: ${res.status} ${await res.text()}`);
    }),
  );
}

/** Polls `GET /jobs/{id}` until `done(view)` holds (or the time runs out). */
export async function waitForJob(
  api: TestApi,
  token: string,
  jobId: string,
  done: (view: any) => boolean,
  timeoutMs = 60_000,
): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.request('GET', `/jobs/${jobId}`, { token });
    if (res.status === 200 && done(res.body.data)) return res.body.data;
    if (Date.now() > until)
      throw new Error(`job ${jobId} did not get there in ${timeoutMs} ms; last: ${JSON.stringify(res.body.data?.status ?? res.body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
