/**
 * The GPU activities (contract.ts): `segment` and `applyRule`, thin wrappers that move bytes between storage and the
 * segmenter / rule engine. Payloads carry storage keys only; every file lands under the layout of API.md.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ObjectTooLargeError, type Storage } from '../activities/storage';
import { ItemFailure } from './contract';
import { DEFAULT_IMAGE_LIMITS, ItemImageError } from './image/inputImage';
import { RuleParams } from '../domain/ruleParams';
import { maskKey, previewKey, resultKey } from '../domain/storageKeys';
import { abortable, runActivity } from './activityRun';
import type { ApplyRuleInput, ApplyRuleResult, GpuActivities, SegmentInput, SegmentResult } from './contract';
import { encodeMaskPng } from './rules/masks';
import type { RuleEngine } from './rules/engine';
import type { Segmenter } from './segmenter/segmenter';

/** What the GPU activities need. */
export interface GpuActivityDeps {
  storage: Pick<Storage, 'get' | 'put'>;
  segmenter: Segmenter;
  engine: RuleEngine;
  /** Heartbeat period while a step runs (default 2 s; the SDK throttles to the heartbeat timeout anyway). */
  heartbeatMs?: number;
}

/** Non-retryable failure type for RuleParams that do not parse (the API validates them, so this is a bug upstream). */
export const INVALID_RULE_PARAMS = 'INVALID_RULE_PARAMS';

/** Creates the activities a GPU worker registers. */
export function createGpuActivities(deps: GpuActivityDeps): GpuActivities {
  const heartbeatMs = deps.heartbeatMs ?? 2000;
  const { storage } = deps;
  // An upload can be replaced after confirm-upload checked its size: check again before downloading it.
  const getInput = (key: string) =>
    storage.get(key, { maxBytes: DEFAULT_IMAGE_LIMITS.maxInputBytes }).catch((err: unknown) => {
      if (err instanceof ObjectTooLargeError) throw new ItemImageError(ItemFailure.IMAGE_TOO_LARGE, err.message);
      throw err;
    });

  return {
    async segment(input: SegmentInput): Promise<SegmentResult> {
      return runActivity(heartbeatMs, async (step, signal) => {
        const { userId, jobId, idx, inputKey } = input.item;
        step('download');
        const image = await abortable(getInput(inputKey), signal);
        step('segment');
        const seg = await abortable(deps.segmenter.segment(image, [...input.concepts, ...input.protect], signal), signal);
        step('upload masks');
        const entries = await abortable(
          Promise.all(
            [...seg.masks].map(async ([id, mask]) => {
              const key = maskKey(userId, jobId, idx, id);
              await storage.put(key, await encodeMaskPng(mask, seg.width, seg.height), 'image/png');
              return [id, key] as const;
            }),
          ),
          signal,
        );
        return { width: seg.width, height: seg.height, masks: Object.fromEntries(entries), coverage: Object.fromEntries(seg.coverage) };
      });
    },

    async applyRule(input: ApplyRuleInput): Promise<ApplyRuleResult> {
      return runActivity(heartbeatMs, async (step, signal) => {
        const parsed = RuleParams.safeParse(input.params);
        if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid rule params: ${parsed.error.message}`, INVALID_RULE_PARAMS);
        const { userId, jobId, idx, inputKey } = input.item;
        step('download');
        const ids = [...new Set([...input.concepts, ...input.protect, ...parsed.data.operations.map((o) => o.concept)])];
        const [image, ...maskFiles] = await abortable(
          Promise.all([getInput(inputKey), ...ids.map((id) => (input.masks[id] ? storage.get(input.masks[id]) : null))]),
          signal,
        );
        const masks = Object.fromEntries(ids.flatMap((id, i) => (maskFiles[i] ? [[id, maskFiles[i]]] : [])));
        const out = await deps.engine.apply(
          { image, masks, concepts: input.concepts, protect: input.protect, params: parsed.data },
          { signal, onStep: step },
        );
        step('upload');
        const keys = { resultKey: resultKey(userId, jobId, idx), previewKey: previewKey(userId, jobId, idx) };
        await abortable(
          Promise.all([
            storage.put(keys.resultKey, out.resultPng, 'image/png'),
            storage.put(keys.previewKey, out.previewJpeg, 'image/jpeg'),
          ]),
          signal,
        );
        return { ...keys, checks: out.checks };
      });
    },
  };
}
