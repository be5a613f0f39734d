/**
 * The CPU worker: polls the CPU task queue for `applyRule` (Phase B: the rule engine on sharp and worker-thread
 * kernels), CPU_CONCURRENCY items at a time. No GPU and no model: it scales on its own queue's backlog.
 * `npm run cpu-worker` is the entry point; `createCpuWorker` runs it in-process for end-to-end tests and the demo.
 */
import 'dotenv/config';
import { availableParallelism } from 'node:os';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { parseConfig, type Config } from '../domain/config';
import { createLogger } from '../services/logger';
import { createStorage } from '../services/storage';
import { activityMetricsInterceptor, installWorkerRuntime } from '../services/telemetry';
import { CPU_WORKER_NODE_FLAGS, runMain, serveWorker } from '../services/workerProcess';
import { createExportBuildActivities } from './exportActivities';
import { createCpuActivities } from './ruleActivities';
import { KernelPool } from './rules/kernelPool';
import { createRuleEngine } from './rules/engine';

/** The configuration the CPU worker reads. */
export type CpuWorkerConfig = Pick<
  Config,
  | 'CPU_CONCURRENCY'
  | 'RESULT_PNG_LEVEL'
  | 'CPU_TASK_QUEUE'
  | 'TEMPORAL_NAMESPACE'
  | 'STORAGE_S3_ENDPOINT'
  | 'STORAGE_ACCESS_KEY'
  | 'STORAGE_SECRET_KEY'
  | 'STORAGE_BUCKET'
  | 'STORAGE_REGION'
  | 'STORAGE_FORCE_PATH_STYLE'
>;

/** Items rendered at once: the configured number, or one per core (an item's kernels keep one core busy). */
export function cpuConcurrency(config: Pick<Config, 'CPU_CONCURRENCY'>): number {
  return config.CPU_CONCURRENCY > 0 ? config.CPU_CONCURRENCY : availableParallelism();
}

/** Creates (does not run) a CPU worker; its kernel threads are warm when this resolves. */
export async function createCpuWorker(
  connection: NativeConnection,
  config: CpuWorkerConfig,
  options: Partial<WorkerOptions> = {},
): Promise<{ worker: Worker; close(): Promise<void> }> {
  const concurrency = cpuConcurrency(config);
  const storage = createStorage(config);
  // Pixel kernels are CPU work: more threads than cores only adds contention.
  const pool = new KernelPool(Math.max(1, Math.min(concurrency, availableParallelism())));
  try {
    await pool.warm();
    const worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.CPU_TASK_QUEUE,
      activities: {
        ...createCpuActivities({ storage, engine: createRuleEngine({ pool, pngCompressionLevel: config.RESULT_PNG_LEVEL }) }),
        ...createExportBuildActivities({ storage }),
      },
      maxConcurrentActivityTaskExecutions: concurrency,
      // A cancel reaches a running item within about a second (the default throttle is 0.8 × the heartbeat timeout).
      maxHeartbeatThrottleInterval: '1s',
      // On SIGTERM finish the items in flight (seconds each) rather than cancel them.
      shutdownGraceTime: '1m',
      interceptors: { activity: [activityMetricsInterceptor] },
      ...options,
    });
    return {
      worker,
      async close() {
        await pool.close();
        storage.destroy();
      },
    };
  } catch (err) {
    await pool.close();
    storage.destroy();
    throw err;
  }
}

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const logger = createLogger('cpu-worker', { level: config.LOG_LEVEL, pretty: config.NODE_ENV === 'development' });
  installWorkerRuntime(logger, config.METRICS_PORT);
  await serveWorker({
    name: 'cpu worker',
    address: config.TEMPORAL_ADDRESS,
    logger,
    create: (connection) => createCpuWorker(connection, config),
    started: { taskQueue: config.CPU_TASK_QUEUE, concurrency: cpuConcurrency(config) },
    nodeFlags: CPU_WORKER_NODE_FLAGS,
  });
}

if (require.main === module) runMain(main);
