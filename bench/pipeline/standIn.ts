/**
 * The calibrated stand-in GPU worker of `bench:pipeline`: a real Temporal Worker on the GPU task queue whose
 * `segment` holds one serialized "GPU" for `encodeMs + decodeMs × (concepts + protect)` (sleep-based, no CPU) and
 * returns fake mask keys; `applyRule` returns at once with fake keys and checks. Nothing touches storage: the bench
 * measures how well the orchestration feeds a GPU, not S3 or the rule engine (applyRule is CPU work in reality).
 */
import { Context } from '@temporalio/activity';
import { DefaultLogger, Worker, type NativeConnection } from '@temporalio/worker';
import type { ApplyRuleInput, ApplyRuleResult, CpuActivities } from '../../activities/contract';
import type { GpuActivities, SegmentInput, SegmentResult } from '../../gpu-activities/contract';

/** The SDK logger of bench processes: warnings and worse, minus the expected note of an activity-only worker. */
export function benchSdkLogger(): DefaultLogger {
  return new DefaultLogger('WARN', (e) => {
    if (/No workflows registered/.test(e.message)) return;
    console.error(`[temporal sdk] ${e.level} ${e.message}${e.meta ? ` ${JSON.stringify(e.meta)}` : ''}`);
  });
}

/** Epoch milliseconds with sub-millisecond resolution, comparable across processes of this machine. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** The cost model of one GPU: SAM3 at 1008² on an H200 (DESIGN.md "Measured physical anchor"), or zero. */
export interface GpuModel {
  /** Image encode per item (24.5 ms at batch 1). */
  encodeMs: number;
  /** One decode per concept and per protect concept (20 ms at batch 1). */
  decodeMs: number;
}

/** One activity execution as the stand-in saw it (epoch ms). */
export interface ActivityRecord {
  /** Worker index in the fleet. */
  w: number;
  kind: 'segment' | 'applyRule';
  jobId: string;
  idx: number;
  attempt: number;
  /** When the server scheduled this attempt. */
  scheduled: number;
  /** When the activity function started on the worker. */
  start: number;
  /** The GPU reservation (segment with a non-zero model only). */
  gpuStart?: number;
  gpuEnd?: number;
  /** When the function returned its result. */
  end: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One serialized GPU. Work is queued FIFO on a virtual device clock: a request starts when the device is free (or
 * now, if it is idle) and ends exactly `costMs` later; the caller sleeps until then. A late timer wake-up therefore
 * delays only the host noticing completion, never the next queued kernel — as on a real GPU with a queue of work.
 */
export class SerialGpu {
  private freeAt = 0;
  busyMs = 0;

  async run(costMs: number): Promise<{ start: number; end: number }> {
    const start = Math.max(nowMs(), this.freeAt);
    const end = start + costMs;
    this.freeAt = end;
    this.busyMs += costMs;
    // setTimeout truncates to whole ms: loop until the deadline has really passed.
    for (let left = end - nowMs(); left > 0; left = end - nowMs()) await sleep(Math.max(1, Math.ceil(left)));
    return { start, end };
  }
}

/** The stand-in activities of worker `w`; each execution is appended to `records`. */
export function createStandInActivities(w: number, model: GpuModel, records: ActivityRecord[]): GpuActivities & CpuActivities {
  const gpu = new SerialGpu();
  const info = () => Context.current().info;
  return {
    async segment(input: SegmentInput): Promise<SegmentResult> {
      const start = nowMs();
      const { attempt, currentAttemptScheduledTimestampMs } = info();
      const prompts = [...input.concepts, ...input.protect];
      const cost = model.encodeMs + model.decodeMs * prompts.length;
      const held = cost > 0 ? await gpu.run(cost) : undefined;
      const { jobId, idx, userId } = input.item;
      const masks = Object.fromEntries(prompts.map((p) => [p.id, `users/${userId}/jobs/${jobId}/masks/${idx}/${p.id}.png`]));
      const coverage = Object.fromEntries(prompts.map((p) => [p.id, 0.25]));
      records.push({
        w,
        kind: 'segment',
        jobId,
        idx,
        attempt,
        scheduled: currentAttemptScheduledTimestampMs,
        start,
        gpuStart: held?.start,
        gpuEnd: held?.end,
        end: nowMs(),
      });
      return { width: 1008, height: 1008, masks, coverage };
    },
    async applyRule(input: ApplyRuleInput): Promise<ApplyRuleResult> {
      const start = nowMs();
      const { attempt, currentAttemptScheduledTimestampMs } = info();
      const { jobId, idx, userId } = input.item;
      const base = `users/${userId}/jobs/${jobId}`;
      const result: ApplyRuleResult = {
        resultKey: `${base}/results/${idx}.png`,
        previewKey: `${base}/previews/${idx}.jpg`,
        checks: {
          protected_changed_px: 0,
          delta_e_to_target: Object.fromEntries(input.concepts.map((c) => [c, 1.5])),
          coverage: Object.fromEntries(Object.keys(input.masks).map((c) => [c, 0.25])),
        },
      };
      records.push({ w, kind: 'applyRule', jobId, idx, attempt, scheduled: currentAttemptScheduledTimestampMs, start, end: nowMs() });
      return result;
    },
  };
}

/** What a stand-in worker needs. */
export interface StandInOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Index in the fleet (appears in the records). */
  index: number;
  model: GpuModel;
  /** maxConcurrentActivityTaskExecutions: how many items can wait at the GPU at once. */
  slots: number;
}

/** Creates a stand-in GPU worker (not running yet) and the array its activities record into. */
export async function createStandInWorker(opts: StandInOptions): Promise<{ worker: Worker; records: ActivityRecord[] }> {
  const records: ActivityRecord[] = [];
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    identity: `bench-gpu-${opts.index}@${process.pid}`,
    activities: createStandInActivities(opts.index, opts.model, records),
    maxConcurrentActivityTaskExecutions: opts.slots,
  });
  return { worker, records };
}
