/**
 * Worker telemetry: the Temporal Core runtime logs through pino (so SDK lines carry workflowId, activityType, taskQueue)
 * and exports Prometheus metrics on METRICS_PORT — the SDK's own series (temporal_activity_execution_latency,
 * task slots, poll latencies…) plus ours, recorded through the runtime's meter so one endpoint serves both.
 */
import { performance } from 'node:perf_hooks';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, Runtime, type ActivityInterceptorsFactory, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';

const SDK_LEVEL: Record<string, LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

/** Installs the process-wide Temporal runtime: pino logging, and a Prometheus exporter when `metricsPort` > 0. */
export function installWorkerRuntime(log: Logger, metricsPort: number): void {
  Runtime.install({
    logger: new DefaultLogger(SDK_LEVEL[log.level] ?? 'INFO', ({ level, message, meta }) => {
      const method =
        level === 'TRACE' ? 'trace' : level === 'DEBUG' ? 'debug' : level === 'WARN' ? 'warn' : level === 'ERROR' ? 'error' : 'info';
      log[method]({ ...meta }, message);
    }),
    ...(metricsPort > 0
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `0.0.0.0:${metricsPort}`, countersTotalSuffix: true } } } }
      : {}),
  });
  if (metricsPort > 0) log.info({ metricsPort }, `Prometheus metrics on http://0.0.0.0:${metricsPort}/metrics`);
}

/**
 * Counts and times every activity by type and outcome (`s3_activity_completed`, `s3_activity_failed{failure_type}`,
 * `s3_activity_duration`); for the GPU worker these are the items processed and failed per step.
 */
export const activityMetricsInterceptor: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      // The context's meter is tagged with namespace, task queue and activity type already.
      const meter = ctx.metricMeter;
      const started = performance.now();
      try {
        const result = await next(input);
        meter.createCounter('s3_activity_completed', 'activities', 'Activities that completed').add(1);
        return result;
      } catch (err) {
        const type = err instanceof ApplicationFailure && err.type ? err.type : ((err as Error)?.name ?? 'Error');
        meter
          .createCounter('s3_activity_failed', 'activities', 'Activity attempts that failed, by failure type')
          .add(1, { failure_type: type });
        throw err;
      } finally {
        meter
          .createHistogram('s3_activity_duration', 'int', 'ms', 'Activity attempt duration')
          .record(Math.round(performance.now() - started));
      }
    },
  },
});
