/**
 * A test-only workflow that drives the real GPU and CPU workers over Temporal: segment an item on the GPU queue, then
 * apply a rule to it on the CPU queue.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { ApplyRuleResult, CpuActivities } from '../../../activities/contract';
import type { GpuActivities, SegmentResult } from '../../../gpu-activities/contract';
import type { ItemRef, PromptRef } from '../../../domain/jobData';
import type { RuleParams } from '../../../domain/ruleParams';

/** Segments one item on `gpuTaskQueue`, then renders it on `cpuTaskQueue`. */
export async function gpuProbe(input: {
  gpuTaskQueue: string;
  cpuTaskQueue: string;
  item: ItemRef;
  concepts: PromptRef[];
  protect: PromptRef[];
  params: RuleParams;
}): Promise<{ segment: SegmentResult; applied: ApplyRuleResult }> {
  const options = { startToCloseTimeout: '2 minutes', heartbeatTimeout: '30 seconds', retry: { maximumAttempts: 2 } } as const;
  const gpu = proxyActivities<GpuActivities>({ ...options, taskQueue: input.gpuTaskQueue });
  const cpu = proxyActivities<CpuActivities>({ ...options, taskQueue: input.cpuTaskQueue });
  const segment = await gpu.segment({ item: input.item, concepts: input.concepts, protect: input.protect });
  const applied = await cpu.applyRule({
    item: input.item,
    masks: segment.masks,
    concepts: input.concepts.map((c) => c.id),
    protect: input.protect.map((p) => p.id),
    params: input.params,
  });
  return { segment, applied };
}
