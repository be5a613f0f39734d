/**
 * The calibrated stand-in GPU worker of `bench:pipeline`: a real Temporal Worker on the GPU task queue whose `segment`
 * hands its item to the GPU worker's own dynamic batcher (gpu-activities/segmenter/batcher.ts); each batch holds one
 * serialized "GPU" for the H200 cost of that batch size (gpuCurve.ts; sleep-based, no CPU) and returns fake mask keys.
 * `applyRule` runs on the CPU stand-in (cpuStandIn.ts) on its own queue. Nothing touches storage: the bench measures
 * how well the orchestration feeds a GPU, not S3 or the rule engine.
 */
import { Context } from '@temporalio/activity';
import { DefaultLogger, Worker, type NativeConnection } from '@temporalio/worker';
import { createBatcher } from '../../gpu-activities/segmenter/batcher';
import type { GpuActivities, SegmentInput, SegmentResult } from '../../gpu-activities/contract';
import { batchCostMs } from './gpuCurve';

/** The SDK logger of bench processes: warnings and worse, minus the expected note of an activity-only worker. */
export function benchSdkLogger(): DefaultLogger {
  return new DefaultLogger('WARN', (e) => {
    if (/No workflows registered/.test(e.message)) return;
    console.error(`[temporal sdk] ${e.level} ${e.message}${e.meta ? ` ${JSON.stringify(e.meta)}` : ''}`);
  });
}

/** Epoch milliseconds with sub-millisecond resolution, comparable across processes of this machine. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** The GPU of a stand-in: the H200 batch curve or zero cost, and the batcher's settings (GPU_MAX_BATCH, wait). */
export interface GpuModel {
  kind: 'h200' | 'zero';
  /** GPU_MAX_BATCH (1 = unbatched, one image per model call). */
  maxBatch: number;
  /** GPU_BATCH_WAIT_MS. */
  waitMs: number;
}

/** One activity execution as a stand-in saw it (epoch ms). */
export interface ActivityRecord {
  /** Worker index in its fleet (GPU or CPU). */
  w: number;
  kind: 'segment' | 'applyRule';
  jobId: string;
  idx: number;
  attempt: number;
  /** When the server scheduled this attempt. */
  scheduled: number;
  /** When the activity function started on the worker. */
  start: number;
  /** The device reservation: the item's batch on the GPU (segment), its core (applyRule); absent at zero cost. */
  gpuStart?: number;
  gpuEnd?: number;
  /** This item's share of the device time (its batch's time / batch size). */
  deviceMs?: number;
  /** segment: images in its batch, and how long it waited in the batch queue. */
  batch?: number;
  batchWaitMs?: number;
  /** When the function returned its result. */
  end: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One serialized device. Work is queued FIFO on a virtual device clock: a request starts when the device is free (or
 * now, if it is idle) and ends exactly `costMs` later; the caller sleeps until then. A late timer wake-up therefore
 * delays only the host noticing completion, never the next queued kernel — as on a real GPU with a queue of work.
 */
export class SerialGpu {
  freeAt = 0;
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

interface Queued {
  prompts: number;
  submitted: number;
}
interface Held {
  start: number;
  end: number;
  batch: number;
  waitMs: number;
}

/** The stand-in GPU activity of worker `w`; each execution is appended to `records`. */
export function createStandInActivities(w: number, model: GpuModel, records: ActivityRecord[]): GpuActivities {
  const gpu = new SerialGpu();
  const batcher = createBatcher<Queued, Held>({
    maxBatch: model.maxBatch,
    waitMs: model.waitMs,
    async run(items) {
      const began = nowMs();
      // Every image of the bench asks for the same prompts: one decoder call per prompt over the whole batch.
      const held = await gpu.run(batchCostMs(items.length, Math.max(...items.map((i) => i.prompts))));
      return items.map((i) => ({ ...held, batch: items.length, waitMs: began - i.submitted }));
    },
  });
  const info = () => Context.current().info;
  return {
    async segment(input: SegmentInput): Promise<SegmentResult> {
      const start = nowMs();
      const { attempt, currentAttemptScheduledTimestampMs } = info();
      const prompts = [...input.concepts, ...input.protect];
      const held = model.kind === 'h200' ? await batcher.submit({ prompts: prompts.length, submitted: nowMs() }) : undefined;
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
        deviceMs: held ? (held.end - held.start) / held.batch : undefined,
        batch: held?.batch,
        batchWaitMs: held?.waitMs,
        end: nowMs(),
      });
      return { width: 1008, height: 1008, masks, coverage };
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
