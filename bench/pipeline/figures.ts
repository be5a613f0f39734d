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
  /** busy / (workers × window), window = first GPU start .. last completion of the fleet. */
  fleetBusy: number;
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
  const gpuRecs = records.filter((r) => r.gpuStart !== undefined);
  const busyOf = (rs: ActivityRecord[]) => sum(rs.map((r) => r.gpuEnd! - r.gpuStart!));
  const workerBusy: number[] = [];
  const perWorkerItems: number[] = [];
  for (let w = 0; w < workers; w++) {
    const mine = records.filter((r) => r.w === w);
    const gpu = mine.filter((r) => r.gpuStart !== undefined);
    perWorkerItems.push(mine.filter((r) => r.kind === 'segment').length);
    if (gpu.length) workerBusy.push(busyOf(gpu) / (Math.max(...mine.map((r) => r.end)) - Math.min(...gpu.map((r) => r.gpuStart!))));
  }
  const fleetBusy = gpuRecs.length ? busyOf(gpuRecs) / (workers * (endAll - Math.min(...gpuRecs.map((r) => r.gpuStart!)))) : NaN;
  return {
    t0,
    endAll,
    wallS,
    itemsPerS: applies.size / wallS,
    retries: records.filter((r) => r.attempt > 1).length,
    fleetBusy,
    workerBusy,
    perWorkerItems,
    latency: [...applies.values()].map((a) => a.end - t0Of.get(a.jobId)!),
    hop: [...applies].flatMap(([key, a]) => (segs.has(key) ? [a.scheduled - segs.get(key)!.end] : [])),
    queueWait: records.map((r) => r.start - r.scheduled),
  };
}
