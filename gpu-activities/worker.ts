/**
 * The GPU worker: polls the GPU task queue for `segment` (nothing else: rule apply is the CPU fleet's), BATCH_CONCURRENCY
 * at a time, with one SAM3 model per process loaded and warmed before it polls. `npm run gpu-worker` is the entry point; `createGpuWorker`
 * runs it in-process for end-to-end tests and the demo.
 */
import 'dotenv/config';
import { performance } from 'node:perf_hooks';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { parseConfig, type Config } from '../domain/config';
import { createLogger } from '../services/logger';
import { createStorage } from '../services/storage';
import { activityMetricsInterceptor, installWorkerRuntime } from '../services/telemetry';
import { createGpuActivities } from './activities';
import { runRunpodDispatcher } from './runpodDispatcher';
import { createSegmenter } from './segmenter/segmenter';
import type { ModelLog } from './segmenter/sam3Model';

/** The configuration the GPU worker reads. */
export type GpuWorkerConfig = Pick<
  Config,
  | 'MODEL_DIR'
  | 'ORT_EXECUTION_PROVIDER'
  | 'SEGMENT_SCORE_THRESHOLD'
  | 'BATCH_CONCURRENCY'
  | 'GPU_TASK_QUEUE'
  | 'TEMPORAL_NAMESPACE'
  | 'STORAGE_S3_ENDPOINT'
  | 'STORAGE_ACCESS_KEY'
  | 'STORAGE_SECRET_KEY'
  | 'STORAGE_BUCKET'
  | 'STORAGE_REGION'
  | 'STORAGE_FORCE_PATH_STYLE'
>;

/** Creates (does not run) a GPU worker; the model is loaded and warm when this resolves. */
export async function createGpuWorker(
  connection: NativeConnection,
  config: GpuWorkerConfig,
  log: ModelLog = console,
  options: Partial<WorkerOptions> = {},
): Promise<{ worker: Worker; close(): Promise<void> }> {
  const storage = createStorage(config);
  const segmenter = createSegmenter({
    modelDir: config.MODEL_DIR,
    provider: config.ORT_EXECUTION_PROVIDER,
    scoreThreshold: config.SEGMENT_SCORE_THRESHOLD,
    log,
  });
  try {
    const loadStarted = performance.now();
    await segmenter.warm();
    recordModelLoad(performance.now() - loadStarted, log);
    const worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.GPU_TASK_QUEUE,
      activities: createGpuActivities({ storage, segmenter }),
      maxConcurrentActivityTaskExecutions: config.BATCH_CONCURRENCY,
      // Heartbeats reach the server at least every second, so a cancel reaches a running item within about a second
      // (the default throttle is 0.8 × the heartbeat timeout, 16 s here).
      maxHeartbeatThrottleInterval: '1s',
      // On SIGTERM (scale-down, deploy) finish the items in flight rather than cancel them; the deploy grace periods
      // (compose stop_grace_period, k8s terminationGracePeriodSeconds) are longer than this.
      shutdownGraceTime: '2m',
      interceptors: { activity: [activityMetricsInterceptor] },
      ...options,
    });
    return {
      worker,
      async close() {
        storage.destroy();
      },
    };
  } catch (err) {
    storage.destroy();
    throw err;
  }
}

/** Publishes the model load time (gauge `s3_model_load_seconds` on the worker's Prometheus endpoint) and logs it. */
function recordModelLoad(ms: number, log: ModelLog): void {
  Runtime.instance()
    .metricMeter.createGauge('s3_model_load', 'float', 's', 'Time to load and warm the SAM3 model')
    .set(ms / 1000);
  log.info(`model loaded and warmed in ${Math.round(ms)} ms`);
}

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const logger = createLogger('gpu-worker', { level: config.LOG_LEVEL, pretty: config.NODE_ENV === 'development' });
  installWorkerRuntime(logger, config.METRICS_PORT);
  // GPU_PROVIDER=runpod: this queue is served by the model-less dispatcher; the model runs on Runpod.
  if (config.GPU_PROVIDER === 'runpod') return runRunpodDispatcher(config, logger);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const { worker, close } = await createGpuWorker(connection, config, {
      info: (msg) => logger.info(msg),
      warn: (msg) => logger.warn(msg),
    });
    // The SDK turns SIGINT/SIGTERM into worker.shutdown(); run() resolves after in-flight activities finish.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => logger.info({ signal }, 'shutting down'));
    logger.info(
      { taskQueue: config.GPU_TASK_QUEUE, concurrency: config.BATCH_CONCURRENCY, modelDir: config.MODEL_DIR },
      'gpu worker started',
    );
    try {
      await worker.run();
    } finally {
      await close();
    }
    logger.info('gpu worker stopped');
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
