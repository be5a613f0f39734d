/**
 * The application processes in one Node process: the API (listening), the orchestration worker, a CPU and a GPU worker,
 * wired to a running Temporal + S3 (see startStack) and an open database. The demo, the end-to-end tests and the
 * benchmarks use this; production runs the four entry points as separate processes.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { createApp } from '../../api/app';
import { readinessChecks } from '../../api/readiness';
import { createCredits } from '../../services/credits';
import { createStorage, type Storage } from '../../services/storage';
import { openClientConnection } from '../../services/temporalClient';
import { createCpuWorker } from '../../activities/cpuWorker';
import { createOrchestrationWorker } from '../../activities/worker';
import type { Config } from '../../domain/config';
import { createGpuWorker } from '../../gpu-activities/worker';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per process (webpack takes seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  return (bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: Runtime.instance().logger }));
}

/** The running application processes. */
export interface System {
  /** Base URL of the API. */
  url: string;
  client: Client;
  storage: Storage;
  startGpuWorker(): Promise<void>;
  stopGpuWorker(): Promise<void>;
  startCpuWorker(): Promise<void>;
  stopCpuWorker(): Promise<void>;
  close(): Promise<void>;
}

/** Starts API + orchestration worker (+ a CPU and a GPU worker unless `cpu`/`gpu: false`) for `config` on `ds`. */
export async function startSystem(
  config: Config,
  ds: DataSource,
  opts: { log: Logger; gpu?: boolean; cpu?: boolean; orchestration?: boolean; port?: number },
): Promise<System> {
  const storage = createStorage(config);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  // The API's connection: closing it waits for the calls still retrying (see services/temporalClient.ts).
  const api = await openClientConnection({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection: api.connection, namespace: config.TEMPORAL_NAMESPACE });
  const orchestration =
    opts.orchestration === false
      ? undefined
      : await createOrchestrationWorker({
          connection,
          namespace: config.TEMPORAL_NAMESPACE,
          taskQueue: config.TEMPORAL_TASK_QUEUE,
          ds,
          storage,
          workflowBundle: await workflowBundle(),
        });
  const orchestrationRun = orchestration?.run();
  const app = createApp({
    config,
    ds,
    credits: createCredits(ds),
    log: opts.log,
    jobs: { storage, temporal: client },
    checks: readinessChecks({
      ds,
      connection: api.connection,
      storage,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
    }),
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(opts.port ?? 0, '127.0.0.1', () => resolve(s));
  });

  type Running = { worker: Worker; close(): Promise<void>; run: Promise<void> };
  let gpu: Running | undefined;
  let cpu: Running | undefined;
  const stop = async (w: Running | undefined) => {
    if (!w) return;
    w.worker.shutdown();
    await w.run;
    await w.close();
  };
  const modelLog = { info: (m: string) => opts.log.info(m), warn: (m: string) => opts.log.warn(m) };
  const system: System = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    client,
    storage,
    async startGpuWorker() {
      if (gpu) return;
      const created = await createGpuWorker(connection, config, modelLog);
      gpu = { ...created, run: created.worker.run() };
    },
    async stopGpuWorker() {
      const g = gpu;
      gpu = undefined;
      await stop(g);
    },
    async startCpuWorker() {
      if (cpu) return;
      const created = await createCpuWorker(connection, config);
      cpu = { ...created, run: created.worker.run() };
    },
    async stopCpuWorker() {
      const c = cpu;
      cpu = undefined;
      await stop(c);
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await Promise.all([system.stopGpuWorker(), system.stopCpuWorker()]);
      orchestration?.shutdown();
      await orchestrationRun?.catch(() => undefined);
      await Promise.allSettled([connection.close(), api.close()]);
      storage.destroy();
    },
  };
  await Promise.all([opts.gpu !== false && system.startGpuWorker(), opts.cpu !== false && system.startCpuWorker()]);
  return system;
}
