/** A test-only workflow that drives the real GPU worker over Temporal: segment an item, then apply a rule to it. */
import { proxyActivities } from '@temporalio/workflow';
import type { ApplyRuleResult, GpuActivities, ItemRef, PromptRef, SegmentResult } from '../../../gpu-activities/contract';
import type { RuleParams } from '../../../domain/ruleParams';

/** Segments then renders one item on `gpuTaskQueue`. */
export async function gpuProbe(input: {
  gpuTaskQueue: string;
  item: ItemRef;
  concepts: PromptRef[];
  protect: PromptRef[];
  params: RuleParams;
}): Promise<{ segment: SegmentResult; applied: ApplyRuleResult }> {
  const gpu = proxyActivities<GpuActivities>({
    taskQueue: input.gpuTaskQueue,
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { maximumAttempts: 2 },
  });
  const segment = await gpu.segment({ item: input.item, concepts: input.concepts, protect: input.protect });
  const applied = await gpu.applyRule({
    item: input.item,
    masks: segment.masks,
    concepts: input.concepts.map((c) => c.id),
    protect: input.protect.map((p) => p.id),
    params: input.params,
  });
  return { segment, applied };
}
