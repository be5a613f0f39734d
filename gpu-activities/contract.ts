/**
 * The GPU activities' contract: what the job workflow sends to `segment` and `applyRule` on the GPU task queue and
 * what comes back. The workflow imports this module as types only; the GPU worker implements it.
 * Payloads carry storage keys, never image bytes (Temporal's 2 MB blob limit).
 */
import type { RuleParams } from '../domain/ruleParams';

/** One item of a job: where its original lives. */
export interface ItemRef {
  userId: string;
  jobId: string;
  idx: number;
  inputKey: string;
}

/** A concept to segment: its id (used in mask keys) and the text prompt sent to SAM3. */
export interface PromptRef {
  id: string;
  prompt: string;
}

/** Input of `segment`: one image encode, one decode per concept and per protect concept. */
export interface SegmentInput {
  item: ItemRef;
  concepts: PromptRef[];
  protect: PromptRef[];
}

/** Output of `segment`: one 8-bit mask PNG per concept/protect id at the original size, plus coverage. */
export interface SegmentResult {
  width: number;
  height: number;
  /** id -> storage key of the mask PNG. */
  masks: Record<string, string>;
  /** id -> fraction of the image the mask covers (0 when the concept was not found). */
  coverage: Record<string, number>;
}

/** Input of `applyRule`: the original, the masks from `segment`, and the rule. */
export interface ApplyRuleInput {
  item: ItemRef;
  /** id -> mask key, as returned by `segment`. */
  masks: Record<string, string>;
  concepts: string[];
  protect: string[];
  params: RuleParams;
}

/** The proof a set needs (API.md JobView `checks`), measured on the written result. */
export interface ItemChecks {
  protected_changed_px: number;
  delta_e_to_target: Record<string, number>;
  coverage: Record<string, number>;
}

/** Output of `applyRule`. */
export interface ApplyRuleResult {
  resultKey: string;
  previewKey: string;
  checks: ItemChecks;
}

/** The activities a GPU worker registers. */
export interface GpuActivities {
  segment(input: SegmentInput): Promise<SegmentResult>;
  applyRule(input: ApplyRuleInput): Promise<ApplyRuleResult>;
}

/** Non-retryable item failure types (ApplicationFailure `type`): the item fails, the job goes on. */
export const ItemFailure = {
  INVALID_IMAGE: 'INVALID_IMAGE',
  IMAGE_TOO_LARGE: 'IMAGE_TOO_LARGE',
} as const;
/** A non-retryable item failure type. */
export type ItemFailure = (typeof ItemFailure)[keyof typeof ItemFailure];

/** Default name of the GPU task queue (config `GPU_TASK_QUEUE`). */
export const DEFAULT_GPU_TASK_QUEUE = 's3-gpu';
