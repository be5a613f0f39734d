/**
 * The GPU queue's worker when GPU_PROVIDER=runpod: no GPU, no model. It polls GPU_TASK_QUEUE for `segment` and hands
 * every item to the Runpod Serverless endpoint (providers/runpod.ts). `npm run gpu-worker` runs this instead of the
 * model worker when GPU_PROVIDER=runpod; `createRunpodDispatcher` runs it in-process for tests and the demo.
 */
import 'dotenv/config';
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { durationMs, parseConfig, type Config } from '../domain/config';
import { createLogger } from '../services/logger';
import { openClientConnection } from '../services/temporalClient';
import { activityMetricsInterceptor, installWorkerRuntime } from '../services/telemetry';
import { createRunpodAdapter, type RunpodObserver } from './providers/runpod';
import { runpodEndpoint } from './providers/runpodEndpoint';

/** The configuration the dispatcher reads. */
export type RunpodDispatcherConfig = Pick<
  Config,
  | 'GPU_TASK_QUEUE'
  | 'TEMPORAL_NAMESPACE'
  | 'GPU_CALLBACK_SECRET'
  | 'RUNPOD_ENDPOINT_ID'
  | 'RUNPOD_API_KEY'
  | 'RUNPOD_API_BASE'
  | 'RUNPOD_WEBHOOK_URL'
  | 'RUNPOD_POLL_INTERVAL'
  | 'RUNPOD_EXECUTION_TIMEOUT'
>;

/** How long a stopping dispatcher keeps watching its items on Runpod (the GPU worker's shutdown grace). */
const SHUTDOWN_GRACE_MS = 120_000;

/** Creates (does not run) the dispatcher worker; `close()` after `run()` resolved lets watched items settle first. */
export async function createRunpodDispatcher(
  connection: NativeConnection,
  client: Client,
  config: RunpodDispatcherConfig,
  log: Pick<Logger, 'info' | 'warn'>,
  options: Partial<WorkerOptions> = {},
): Promise<{ worker: Worker; close(): Promise<void>; watching(): number }> {
  if (!config.RUNPOD_ENDPOINT_ID || !config.RUNPOD_API_KEY) throw new Error('RUNPOD_ENDPOINT_ID and RUNPOD_API_KEY are required');
  const adapter = createRunpodAdapter({
    activity: client.activity,
    endpoint: runpodEndpoint({ apiBase: config.RUNPOD_API_BASE, apiKey: config.RUNPOD_API_KEY, endpointId: config.RUNPOD_ENDPOINT_ID }),
    secret: config.GPU_CALLBACK_SECRET,
    webhookUrl: config.RUNPOD_WEBHOOK_URL,
    pollMs: durationMs(config.RUNPOD_POLL_INTERVAL),
    executionTimeoutMs: durationMs(config.RUNPOD_EXECUTION_TIMEOUT),
    observer: runpodObserver(log),
  });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.GPU_TASK_QUEUE,
    activities: adapter.activities,
    // A slot is held only while an item is submitted (one HTTP call); Runpod's queue holds the rest.
    maxConcurrentActivityTaskExecutions: 32,
    interceptors: { activity: [activityMetricsInterceptor] },
    ...options,
  });
  return { worker, close: () => adapter.close(SHUTDOWN_GRACE_MS), watching: adapter.watching };
}

/** Logs through `log` and records `s3_runpod_queue_delay` / `s3_runpod_execution` (seconds) on the worker's meter. */
export function runpodObserver(log: Pick<Logger, 'info' | 'warn'>): RunpodObserver {
  const meter = Runtime.instance().metricMeter;
  const queue = meter.createHistogram('s3_runpod_queue_delay', 'float', 's', "Time an item waited in Runpod's queue");
  const execution = meter.createHistogram('s3_runpod_execution', 'float', 's', 'Time a Runpod worker ran an item');
  return {
    info: (fields, msg) => log.info(fields, msg),
    warn: (fields, msg) => log.warn(fields, msg),
    finished(job) {
      if (job.delayTime !== undefined) queue.record(job.delayTime / 1000, { status: job.status });
      if (job.executionTime !== undefined) execution.record(job.executionTime / 1000, { status: job.status });
    },
  };
}

/** Runs the dispatcher until SIGINT/SIGTERM (the SDK turns them into worker.shutdown()). */
export async function runRunpodDispatcher(config: Config, logger: Logger): Promise<void> {
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const clientConnection = await openClientConnection({ address: config.TEMPORAL_ADDRESS });
  try {
    const client = new Client({ connection: clientConnection.connection, namespace: config.TEMPORAL_NAMESPACE });
    const { worker, close } = await createRunpodDispatcher(connection, client, config, logger);
    logger.info(
      {
        taskQueue: config.GPU_TASK_QUEUE,
        endpoint: config.RUNPOD_ENDPOINT_ID,
        apiBase: config.RUNPOD_API_BASE,
        webhook: config.RUNPOD_WEBHOOK_URL ?? null,
      },
      'runpod dispatcher started',
    );
    await worker.run();
    await close();
    logger.info('runpod dispatcher stopped');
  } finally {
    await Promise.allSettled([connection.close(), clientConnection.close()]);
  }
}

if (require.main === module) {
  const config = parseConfig(process.env);
  const logger = createLogger('gpu-dispatcher', { level: config.LOG_LEVEL, pretty: config.NODE_ENV === 'development' });
  installWorkerRuntime(logger, config.METRICS_PORT);
  runRunpodDispatcher(config, logger).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
