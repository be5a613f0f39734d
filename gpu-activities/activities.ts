/**
 * The GPU activity (contract.ts): `segment`, a thin wrapper that moves bytes between storage and the segmenter.
 * Payloads carry storage keys only; every mask lands under the layout of API.md.
 */
import { maskKey } from '../domain/storageKeys';
import { abortable, runActivity, uploadAll } from '../services/activityRun';
import { downloadOriginal } from '../services/image/itemObjects';
import { encodeMaskPng } from '../services/image/masks';
import type { Storage } from '../services/storage';
import type { GpuActivities, SegmentInput, SegmentResult } from './contract';
import type { Segmenter } from './segmenter/segmenter';

/** What the GPU activities need. */
export interface GpuActivityDeps {
  storage: Pick<Storage, 'get' | 'put' | 'delete'>;
  segmenter: Segmenter;
  /** Heartbeat period while a step runs (default 2 s; the SDK throttles to the heartbeat timeout anyway). */
  heartbeatMs?: number;
}

/** Creates the activities a GPU worker registers. */
export function createGpuActivities(deps: GpuActivityDeps): GpuActivities {
  const heartbeatMs = deps.heartbeatMs ?? 2000;
  const { storage } = deps;
  return {
    async segment(input: SegmentInput): Promise<SegmentResult> {
      return runActivity(heartbeatMs, async (step, signal) => {
        const { userId, jobId, idx, inputKey } = input.item;
        step('download');
        const image = await abortable(downloadOriginal(storage, inputKey), signal);
        step('segment');
        const seg = await abortable(deps.segmenter.segment(image, [...input.concepts, ...input.protect], signal), signal);
        step('upload masks');
        const files = await Promise.all(
          [...seg.masks].map(async ([id, mask]) => ({
            id,
            key: maskKey(userId, jobId, idx, id),
            body: await encodeMaskPng(mask, seg.maskWidth, seg.maskHeight),
            contentType: 'image/png',
          })),
        );
        await uploadAll(storage, files, signal);
        const entries = files.map((f) => [f.id, f.key] as const);
        return { width: seg.width, height: seg.height, masks: Object.fromEntries(entries), coverage: Object.fromEntries(seg.coverage) };
      });
    },
  };
}
