/**
 * The orchestration worker: runs the job workflows and their I/O activities (ledger, DB mirror) on the orchestration
 * task queue. `npm run worker` is the entry point; `createOrchestrationWorker` runs it in-process for tests, the
 * benchmark and the demo.
 */
import 'dotenv/config';
import 'reflect-metadata';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import { parseConfig } from '../domain/config';
import { openDatabase } from '../entities/dataSource';
import { createCredits, type Credits } from '../services/credits';
import { createStorage, type Storage } from '../services/storage';
import { runMain, serveWorker } from '../services/workerProcess';
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
  await serveWorker({
    name: 'orchestration worker',
    address: config.TEMPORAL_ADDRESS,
    logger,
    async create(connection) {
      const ds = await openDatabase(config.DATABASE_URL);
      const storage = createStorage(config);
      const close = async (): Promise<void> => {
        storage.destroy();
        await ds.destroy();
      };
      const worker = await createOrchestrationWorker({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        ds,
        storage,
      }).catch(async (err: unknown) => {
        await close().catch(() => undefined); // the creation's error is the one to report
        throw err;
      });
      return { worker, close };
    },
    started: { taskQueue: config.TEMPORAL_TASK_QUEUE, address: config.TEMPORAL_ADDRESS },
  });
}

if (require.main === module) runMain(main);
