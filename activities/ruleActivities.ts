/**
 * The CPU activities (contract.ts): `applyRule` renders the job's rule on one item from its original and the masks
 * `segment` wrote, and stores the result and its preview. Thin: storage in, rule engine, storage out.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ItemFailure } from '../domain/jobData';
import { RuleParams } from '../domain/ruleParams';
import { OUTPUT_TYPES, previewKey, resultKey } from '../domain/storageKeys';
import { abortable, runActivity, uploadAll } from '../services/activityRun';
import { downloadItemObject, downloadOriginal } from '../services/image/itemObjects';
import type { Storage } from '../services/storage';
import type { ApplyRuleInput, ApplyRuleResult, CpuActivities } from './contract';
import { RuleRenderError, type RuleEngine } from './rules/engine';

/** What the CPU activities need. */
export interface CpuActivityDeps {
  storage: Pick<Storage, 'get' | 'put' | 'delete'>;
  engine: RuleEngine;
  /** Heartbeat period while a step runs (default 2 s; the SDK throttles to the heartbeat timeout anyway). */
  heartbeatMs?: number;
}

/** Creates the activities a CPU worker registers. */
export function createCpuActivities(deps: CpuActivityDeps): CpuActivities {
  const heartbeatMs = deps.heartbeatMs ?? 2000;
  const { storage } = deps;
  return {
    async applyRule(input: ApplyRuleInput): Promise<ApplyRuleResult> {
      return runActivity(heartbeatMs, async (step, signal) => {
        const parsed = RuleParams.safeParse(input.params);
        if (!parsed.success)
          throw ApplicationFailure.nonRetryable(`invalid rule params: ${parsed.error.message}`, ItemFailure.INVALID_PARAMS);
        const { userId, jobId, idx, inputKey } = input.item;
        const format = input.outputFormat ?? 'png';
        const variant = input.variant ?? 0;
        step('download');
        const ids = [...new Set([...input.concepts, ...input.protect, ...parsed.data.operations.map((o) => o.concept)])];
        const [image, ...maskFiles] = await abortable(
          Promise.all([
            downloadOriginal(storage, inputKey),
            ...ids.map((id) => (input.masks[id] ? downloadItemObject(storage, input.masks[id]) : null)),
          ]),
          signal,
        );
        const masks = Object.fromEntries(ids.flatMap((id, i) => (maskFiles[i] ? [[id, maskFiles[i]]] : [])));
        const out = await deps.engine
          .apply(
            { image, masks, concepts: input.concepts, protect: input.protect, params: parsed.data, outputFormat: format },
            { signal, onStep: step },
          )
          .catch((err: unknown) => {
            // Parameters the engine cannot render stay unrenderable on every retry.
            if (err instanceof RuleRenderError) throw ApplicationFailure.nonRetryable(err.message, ItemFailure.INVALID_PARAMS);
            throw err;
          });
        step('upload');
        const keys = { resultKey: resultKey(userId, jobId, idx, format, variant), previewKey: previewKey(userId, jobId, idx, variant) };
        await uploadAll(
          storage,
          [
            { key: keys.resultKey, body: out.result, contentType: OUTPUT_TYPES[format].contentType },
            { key: keys.previewKey, body: out.previewJpeg, contentType: 'image/jpeg' },
          ],
          signal,
        );
        return { ...keys, checks: out.checks };
      });
    },
  };
}
