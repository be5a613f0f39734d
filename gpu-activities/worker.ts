/**
 * The GPU worker: polls the GPU task queue for `segment` (nothing else: rule apply is the CPU fleet's), with one SAM3
 * model per process loaded and warmed before it polls. Concurrent items of any job share the model through the
 * segmenter's dynamic batcher (GPU_MAX_BATCH, GPU_BATCH_WAIT_MS); the worker runs max(BATCH_CONCURRENCY, 2 × the
 * effective batch) items at once, so while one batch is on the GPU the next one is downloaded and decoded.
 * `npm run gpu-worker` is the entry point; `createGpuWorker` runs it in-process for end-to-end tests and the demo.
 */
import 'dotenv/config';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { parseConfig, type Config } from '../domain/config';
import { createLogger } from '../services/logger';
import { createStorage } from '../services/storage';
import { activityMetricsInterceptor, installWorkerRuntime } from '../services/telemetry';
import { runMain, serveWorker } from '../services/workerProcess';
import { createGpuActivities } from './activities';
import { runRunpodDispatcher } from './runpodDispatcher';
import { createSegmenter } from './segmenter/segmenter';
import type { KERNELS as POST_KERNELS } from './segmenter/postKernels';
import { WorkerKernelPool } from '../services/kernelPool';
import type { BatchStats } from './segmenter/batcher';
import type { ModelLog } from './segmenter/sam3Model';

/** The configuration the GPU worker reads. */
export type GpuWorkerConfig = Pick<
  Config,
  | 'MODEL_DIR'
  | 'ORT_EXECUTION_PROVIDER'
  | 'SEGMENT_SCORE_THRESHOLD'
  | 'BATCH_CONCURRENCY'
  | 'GPU_MAX_BATCH'
  | 'GPU_BATCH_WAIT_MS'
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
  const postPool = createPostPool();
  const segmenter = createSegmenter({
    modelDir: config.MODEL_DIR,
    provider: config.ORT_EXECUTION_PROVIDER,
    scoreThreshold: config.SEGMENT_SCORE_THRESHOLD,
    maxBatch: config.GPU_MAX_BATCH,
    batchWaitMs: config.GPU_BATCH_WAIT_MS,
    onBatch: batchMetrics(),
    postPool,
    log,
  });
  try {
    const loadStarted = performance.now();
    await segmenter.warm();
    recordModelLoad(performance.now() - loadStarted, log);
    const slots = activitySlots(config, segmenter.maxBatch());
    log.info(`model batches up to ${segmenter.maxBatch()} images; ${slots} activity slots`);
    const worker = await Worker.create({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.GPU_TASK_QUEUE,
      activities: createGpuActivities({ storage, segmenter }),
      maxConcurrentActivityTaskExecutions: slots,
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
        await postPool.close();
      },
    };
  } catch (err) {
    storage.destroy();
    await postPool.close();
    throw err;
  }
}

/**
 * The post-processing threads: each prompt's instance selection, union and coverage (~5 ms at the working size) run
 * there, so the event loop that feeds the model batches and carries heartbeats stays free — a batch of 16 images × 3
 * prompts is ~0.25 s of it beside ~0.5 s of H200 time. Up to 4 threads, one core left to the event loop and
 * onnxruntime's own threads.
 */
export function createPostPool(): WorkerKernelPool<typeof POST_KERNELS> {
  const threads = Math.max(1, Math.min(4, availableParallelism() - 1));
  return new WorkerKernelPool<typeof POST_KERNELS>(threads, require.resolve('./segmenter/postKernels'), { name: 'ping', args: [] });
}

/** Activity slots: BATCH_CONCURRENCY, raised so that a full batch is prepared (downloaded, decoded) while one runs. */
export function activitySlots(config: Pick<Config, 'BATCH_CONCURRENCY'>, maxBatch: number): number {
  return Math.max(config.BATCH_CONCURRENCY, maxBatch > 1 ? 2 * maxBatch : 1);
}

/**
 * The batcher's metrics on the worker's Prometheus endpoint (the Temporal Runtime's meter): images per batch
 * (`s3_gpu_batch_size`), how long each image waited for its batch (`s3_gpu_batch_queue_wait`, ms) and the model time
 * of each batch (`s3_gpu_batch_model_time`, ms).
 */
function batchMetrics(): (stats: BatchStats) => void {
  const meter = Runtime.instance().metricMeter;
  const size = meter.createHistogram('s3_gpu_batch_size', 'int', 'images', 'Images per SAM3 model batch');
  const wait = meter.createHistogram('s3_gpu_batch_queue_wait', 'float', 'ms', 'Time an image waited in the batch queue');
  const model = meter.createHistogram('s3_gpu_batch_model_time', 'float', 'ms', 'SAM3 model time per batch (encoder + decoders)');
  return (stats) => {
    size.record(stats.size);
    for (const w of stats.queueWaitMs) wait.record(w);
    model.record(stats.runMs);
  };
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
  await serveWorker({
    name: 'gpu worker',
    address: config.TEMPORAL_ADDRESS,
    logger,
    create: (connection) =>
      createGpuWorker(connection, config, {
        info: (msg) => logger.info(msg),
        warn: (msg) => logger.warn(msg),
      }),
    started: {
      taskQueue: config.GPU_TASK_QUEUE,
      maxBatch: config.GPU_MAX_BATCH,
      batchWaitMs: config.GPU_BATCH_WAIT_MS,
      modelDir: config.MODEL_DIR,
    },
  });
}

if (require.main === module) runMain(main);
