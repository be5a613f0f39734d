/**
 * The figures of one bench:pipeline scenario, computed from what the stand-in GPU workers recorded (epoch ms, one
 * record per activity attempt) and each job's start: throughput, GPU busy, item latency, workflow round trips.
 */
import type { ActivityRecord } from './standIn';
import { sum } from './stats';

/** The figures of one scenario that come from the activity records. */
export interface ActivityFigures {
  /** The first job's t0 (epoch ms). */
  t0: number;
  /** The last applyRule completion (epoch ms): the end of the measured window. */
  endAll: number;
  wallS: number;
  itemsPerS: number;
  retries: number;
  /** busy / (workers × window), window = first GPU start .. last segment completion of the fleet. */
  fleetBusy: number;
  /** Images per model batch, averaged over batches (NaN at zero cost). */
  meanBatch: number;
  /** Per item: time waited in the GPU worker's batch queue, ms. */
  batchWait: number[];
  /** Per worker: busy / (its first GPU start .. its last completion). */
  workerBusy: number[];
  perWorkerItems: number[];
  /** Per item: its job's t0 -> its applyRule completion. */
  latency: number[];
  /** segment completed on the worker -> applyRule scheduled by the server (a round trip through the workflow). */
  hop: number[];
  /** Time an activity task waited in the task queue (scheduled -> started on a worker). */
  queueWait: number[];
}

/** The last attempt of each item's `kind` activity, by `jobId/idx`. */
function lastAttempts(records: ActivityRecord[], kind: ActivityRecord['kind']): Map<string, ActivityRecord> {
  const m = new Map<string, ActivityRecord>();
  for (const r of records) {
    const key = `${r.jobId}/${r.idx}`;
    if (r.kind === kind && (!m.has(key) || m.get(key)!.attempt < r.attempt)) m.set(key, r);
  }
  return m;
}

/** Figures of a fleet of `workers` from its records; `t0Of` maps each job id to its t0 (epoch ms). */
export function activityFigures(records: ActivityRecord[], t0Of: Map<string, number>, workers: number): ActivityFigures {
  const segs = lastAttempts(records, 'segment');
  const applies = lastAttempts(records, 'applyRule');
  const t0 = Math.min(...t0Of.values());
  const endAll = Math.max(...[...applies.values()].map((r) => r.end));
  const wallS = (endAll - t0) / 1000;
  const segRecs = records.filter((r) => r.kind === 'segment');
  const gpuRecs = segRecs.filter((r) => r.gpuStart !== undefined);
  // A batch's GPU time is shared by its items: each record carries its share.
  const busyOf = (rs: ActivityRecord[]) => sum(rs.map((r) => r.deviceMs ?? 0));
  const workerBusy: number[] = [];
  const perWorkerItems: number[] = [];
  for (let w = 0; w < workers; w++) {
    const mine = segRecs.filter((r) => r.w === w);
    const gpu = mine.filter((r) => r.gpuStart !== undefined);
    perWorkerItems.push(mine.length);
    if (gpu.length) workerBusy.push(busyOf(gpu) / (Math.max(...mine.map((r) => r.end)) - Math.min(...gpu.map((r) => r.gpuStart!))));
  }
  // The window closes with the last segment: the CPU stage of the last items after it is no GPU work left undone.
  const gpuEndAll = Math.max(...segRecs.map((r) => r.end));
  const fleetBusy = gpuRecs.length ? busyOf(gpuRecs) / (workers * (gpuEndAll - Math.min(...gpuRecs.map((r) => r.gpuStart!)))) : NaN;
  const batched = gpuRecs.filter((r) => r.batch);
  const meanBatch = batched.length ? batched.length / sum(batched.map((r) => 1 / r.batch!)) : NaN;
  return {
    t0,
    endAll,
    wallS,
    itemsPerS: applies.size / wallS,
    retries: records.filter((r) => r.attempt > 1).length,
    fleetBusy,
    meanBatch,
    batchWait: batched.map((r) => r.batchWaitMs ?? 0),
    workerBusy,
    perWorkerItems,
    latency: [...applies.values()].map((a) => a.end - t0Of.get(a.jobId)!),
    hop: [...applies].flatMap(([key, a]) => (segs.has(key) ? [a.scheduled - segs.get(key)!.end] : [])),
    queueWait: records.map((r) => r.start - r.scheduled),
  };
}
