/**
 * The orchestration worker: runs the job workflows and their I/O activities (ledger, DB mirror) on the orchestration
 * task queue. `npm run worker` is the entry point; `createOrchestrationWorker` runs it in-process for tests, the
 * benchmark and the demo.
 */
import 'dotenv/config';
import 'reflect-metadata';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import { parseConfig } from '../domain/config';
import { openDatabase } from '../entities/dataSource';
import { createCredits, type Credits } from '../services/credits';
import { createStorage, type Storage } from '../services/storage';
import { createExportRecordActivities } from './exportActivities';
import { createJobActivities } from './jobActivities';
import { createVariantActivities } from './variantActivities';
import { createLogger } from '../services/logger';
import { activityMetricsInterceptor, installWorkerRuntime } from '../services/telemetry';

/** What an orchestration worker needs; `workflowBundle` lets tests bundle the workflows once per suite. */
export interface OrchestrationWorkerDeps {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  ds: DataSource;
  credits?: Credits;
  /** The object store (the seal of a canceled job's upload tickets). */
  storage: Storage;
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Extra worker options (concurrency limits, identity). */
  options?: Partial<WorkerOptions>;
}

/** Creates (does not run) the orchestration worker: the job, variant and export workflows and their I/O activities. */
export function createOrchestrationWorker(deps: OrchestrationWorkerDeps): Promise<Worker> {
  const credits = deps.credits ?? createCredits(deps.ds);
  const activities = {
    ...createJobActivities({ ds: deps.ds, credits, storage: deps.storage }),
    ...createVariantActivities({ ds: deps.ds, credits }),
    ...createExportRecordActivities({ ds: deps.ds }),
  };
  const workflows = deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: require.resolve('../workflows') };
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace ?? 'default',
    taskQueue: deps.taskQueue,
    activities,
    ...workflows,
    interceptors: { activity: [activityMetricsInterceptor] },
    // Ledger and DB-mirror activities take milliseconds: let them finish on shutdown instead of retrying them.
    shutdownGraceTime: '30s',
    ...deps.options,
  });
}

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const logger = createLogger('worker', { level: config.LOG_LEVEL, pretty: config.NODE_ENV === 'development' });
  installWorkerRuntime(logger, config.METRICS_PORT);
  const ds = await openDatabase(config.DATABASE_URL);
  const storage = createStorage(config);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const worker = await createOrchestrationWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      ds,
      storage,
    });
    // The SDK's Runtime already turns SIGINT/SIGTERM into worker.shutdown(); the handlers only log, and run() then
    // resolves once in-flight tasks have finished (up to shutdownGraceTime), so the cleanup below always runs.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => logger.info({ signal }, 'shutting down'));
    logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, address: config.TEMPORAL_ADDRESS }, 'orchestration worker started');
    await worker.run();
    logger.info('orchestration worker stopped');
  } finally {
    await connection.close();
    storage.destroy();
    await ds.destroy();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
