/**
 * The GPU activities' contract: what the job workflow sends to `segment` on the GPU task queue and what comes back.
 * The workflow imports this module as types only; the GPU worker implements it.
 * Payloads carry storage keys, never image bytes (Temporal's 2 MB blob limit).
 */
import type { ItemRef, PromptRef } from '../domain/jobData';

/** Input of `segment`: one image encode, one decode per concept and per protect concept. */
export interface SegmentInput {
  item: ItemRef;
  concepts: PromptRef[];
  protect: PromptRef[];
}

/**
 * Output of `segment`: one 8-bit mask PNG per concept/protect id, plus coverage. Masks keep the original's aspect at
 * the model's working resolution (long side ≤ 1008; the original's size when smaller): the GPU worker never builds
 * a full-size bitmap, and applyRule upsamples each mask once (bilinear, re-binarized) on a CPU worker.
 */
export interface SegmentResult {
  /** The original's upright size. */
  width: number;
  height: number;
  /** id -> storage key of the mask PNG. */
  masks: Record<string, string>;
  /** id -> fraction of the image the mask covers (0 when the concept was not found). */
  coverage: Record<string, number>;
}

/** The activities a GPU worker registers. */
export interface GpuActivities {
  segment(input: SegmentInput): Promise<SegmentResult>;
}
