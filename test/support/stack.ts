/**
 * The whole system in one test process, against the run's real Temporal dev server and SeaweedFS: the API over HTTP,
 * an orchestration worker and a GPU worker (real SAM3-contract segmenter on the fixture model, real rule engine), each
 * suite on its own task queues so suites never see each other's work.
 */
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createStorage, type Storage } from '../../activities/storage';
import { createOrchestrationWorker } from '../../activities/worker';
import { parseConfig, type Config } from '../../domain/config';
import { createGpuWorker } from '../../gpu-activities/worker';
import { ensureModelFixture } from '../../scripts/model-fixture/generate';
import { startApi, type TestApi } from './api';
import type { TestDatabase } from './databases';

/** Where tests keep the generated contract-fixture model (git-ignored, regenerated when missing). */
export const TEST_MODEL_DIR = join(__dirname, '..', '..', '.data', 'model-fixture');

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per test process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  return (bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: Runtime.instance().logger }));
}

/** A running system for one suite. */
export interface TestStack {
  api: TestApi;
  config: Config;
  client: Client;
  storage: Storage;
  /** Starts a GPU worker in this process (the stack starts one unless `gpu: false`). */
  startGpuWorker(): Promise<void>;
  stopGpuWorker(): Promise<void>;
  close(): Promise<void>;
}

/** Starts API + workers on `db`; `env` overrides config (e.g. UPLOAD_TIMEOUT). */
export async function startStack(db: TestDatabase, opts: { env?: Record<string, string>; gpu?: boolean } = {}): Promise<TestStack> {
  ensureModelFixture(TEST_MODEL_DIR);
  const suffix = Math.random().toString(36).slice(2, 8);
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    TEMPORAL_TASK_QUEUE: `s3-jobs-${suffix}`,
    GPU_TASK_QUEUE: `s3-gpu-${suffix}`,
    MODEL_DIR: TEST_MODEL_DIR,
    BATCH_CONCURRENCY: '2',
    ...opts.env,
  };
  const config = parseConfig({ ...process.env, ...env });
  const storage = createStorage(config);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });

  const runs: Promise<void>[] = [];
  const orchestration = await createOrchestrationWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ds: db.ds,
    workflowBundle: await workflowBundle(),
  });
  runs.push(orchestration.run());

  let gpu: { worker: Worker; close(): Promise<void>; run: Promise<void> } | undefined;
  const quiet = { info: () => undefined, warn: () => undefined };
  const stack: TestStack = {
    config,
    client,
    storage,
    api: await startApi(db, env, { jobs: { storage, temporal: client } }),
    async startGpuWorker() {
      if (gpu) return;
      const created = await createGpuWorker(connection, config, quiet);
      gpu = { ...created, run: created.worker.run() };
    },
    async stopGpuWorker() {
      if (!gpu) return;
      const g = gpu;
      gpu = undefined;
      g.worker.shutdown();
      await g.run;
      await g.close();
    },
    async close() {
      await stack.api.close();
      await stack.stopGpuWorker();
      orchestration.shutdown();
      await Promise.allSettled(runs);
      await Promise.allSettled([connection.close(), clientConnection.close()]);
      storage.destroy();
    },
  };
  if (opts.gpu !== false) await stack.startGpuWorker();
  return stack;
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
export async function waitForJob(api: TestApi, token: string, jobId: string, done: (view: any) => boolean, timeoutMs = 60_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.request('GET', `/jobs/${jobId}`, { token });
    if (res.status === 200 && done(res.body.data)) return res.body.data;
    if (Date.now() > until) throw new Error(`job ${jobId} did not get there in ${timeoutMs} ms; last: ${JSON.stringify(res.body.data?.status ?? res.body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
