/** The checks behind `/readyz`: the database, Temporal, the object store, and an orchestration worker polling. */
import type { Connection } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { Storage } from '../services/storage';
import type { ReadinessChecks } from './routes/health';

/**
 * How old the last poll of a live worker can be. An idle worker's poll is held by the server for up to a minute
 * (matching's long-poll expiry) before it polls again, so a younger threshold would flap on a healthy idle worker.
 */
export const WORKER_POLL_MAX_AGE_MS = 75_000;

/** Resolves when some worker polled `taskQueue` for workflow tasks recently; rejects naming the absence otherwise. */
export async function assertWorkerPolling(connection: Connection, namespace: string, taskQueue: string, maxAgeMs = WORKER_POLL_MAX_AGE_MS) {
  const res = await connection.workflowService.describeTaskQueue({
    namespace,
    // TASK_QUEUE_KIND_NORMAL and TASK_QUEUE_TYPE_WORKFLOW (temporal.api.enums.v1; @temporalio/proto is no direct dependency).
    taskQueue: { name: taskQueue, kind: 1 },
    taskQueueType: 1,
  });
  const newest = Math.max(0, ...(res.pollers ?? []).map((p) => Number(p.lastAccessTime?.seconds ?? 0) * 1000));
  if (Date.now() - newest > maxAgeMs) {
    throw new Error(
      newest ? `no worker polled ${taskQueue} for ${Math.round((Date.now() - newest) / 1000)} s` : `no worker polls ${taskQueue}`,
    );
  }
}

/** The readiness checks of an API wired to these dependencies. */
export function readinessChecks(deps: {
  ds: DataSource;
  connection: Connection;
  storage: Storage;
  namespace: string;
  taskQueue: string;
}): ReadinessChecks {
  return {
    database: () => deps.ds.query('SELECT 1'),
    // Deadlines inside the probe's own 3 s: a call Temporal never answers must not keep retrying in the background.
    temporal: () => deps.connection.withDeadline(Date.now() + 2500, () => deps.connection.workflowService.getSystemInfo({})),
    storage: () => deps.storage.ping(),
    orchestration_worker: () =>
      deps.connection.withDeadline(Date.now() + 2500, () => assertWorkerPolling(deps.connection, deps.namespace, deps.taskQueue)),
  };
}
