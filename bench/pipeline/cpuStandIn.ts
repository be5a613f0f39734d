/**
 * The stand-in CPU worker of `bench:pipeline`: a real Temporal Worker on the CPU task queue whose `applyRule` holds
 * one of `cores` serialized "cores" for the measured CPU cost of an item (issue 10: ≤ 0.6 CPU-seconds per 12 MP item;
 * `--cpu-s`), sleep-based, and returns fake keys and checks. Two activity slots per core, so every core has its next
 * item waiting (as the real CPU worker's concurrency does).
 */
import { Context } from '@temporalio/activity';
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { ApplyRuleInput, ApplyRuleResult, CpuActivities } from '../../activities/contract';
import { nowMs, SerialGpu, type ActivityRecord } from './standIn';

/** The CPU fleet's cost model: CPU-seconds per item and how many cores serve them. */
export interface CpuModel {
  cpuS: number;
  cores: number;
}

/** The stand-in CPU activity of worker `w`; each execution is appended to `records`. */
export function createCpuStandInActivities(w: number, model: CpuModel, records: ActivityRecord[]): CpuActivities {
  const cores = Array.from({ length: Math.max(1, model.cores) }, () => new SerialGpu());
  return {
    async applyRule(input: ApplyRuleInput): Promise<ApplyRuleResult> {
      const start = nowMs();
      const { attempt, currentAttemptScheduledTimestampMs } = Context.current().info;
      // The core that frees first takes the item (an OS scheduler with a run queue per core, roughly).
      const core = cores.reduce((a, b) => (b.freeAt < a.freeAt ? b : a));
      const held = model.cpuS > 0 ? await core.run(model.cpuS * 1000) : undefined;
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
      records.push({
        w,
        kind: 'applyRule',
        jobId,
        idx,
        attempt,
        scheduled: currentAttemptScheduledTimestampMs,
        start,
        gpuStart: held?.start,
        gpuEnd: held?.end,
        deviceMs: held ? held.end - held.start : undefined,
        end: nowMs(),
      });
      return result;
    },
  };
}

/** Creates a stand-in CPU worker (not running yet) with 2 slots per core, and the array its activities record into. */
export async function createCpuStandInWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  index: number;
  model: CpuModel;
}): Promise<{ worker: Worker; records: ActivityRecord[] }> {
  const records: ActivityRecord[] = [];
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    identity: `bench-cpu-${opts.index}@${process.pid}`,
    activities: createCpuStandInActivities(opts.index, opts.model, records),
    maxConcurrentActivityTaskExecutions: Math.max(8, 2 * opts.model.cores),
  });
  return { worker, records };
}
