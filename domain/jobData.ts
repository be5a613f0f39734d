/**
 * The job's data: what a job, its items and its credits look like at every stage (API.md JobView). Shared by the
 * workflow, the activities, the ledger and the API; the Temporal contracts only add names and signatures around it.
 */
import type { ItemStatus, JobStatus, StateError } from './jobStates';
import type { RuleParams } from './ruleParams';
import type { OutputFormat } from './storageKeys';

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

/** The rule a job runs, as `execute` carries it: resolved prompts and params the API checked against the preset. */
export interface JobRule {
  concepts: PromptRef[];
  protect: PromptRef[];
  params: RuleParams;
  /** The results' format (png when absent: executes sent before output formats existed). */
  outputFormat?: OutputFormat;
}

/** The proof a set needs (API.md JobView `checks`), measured on the written result. */
export interface ItemChecks {
  protected_changed_px: number;
  delta_e_to_target: Record<string, number>;
  coverage: Record<string, number>;
}

/** One item's state. */
export interface ItemState {
  idx: number;
  status: ItemStatus;
  error?: StateError;
  resultKey?: string;
  previewKey?: string;
  masks?: Record<string, string>;
  checks?: ItemChecks;
}

/** Progress counters of a job (API.md JobView `progress`). */
export interface Progress {
  total: number;
  done: number;
  failed: number;
  running: number;
  pending: number;
  canceled: number;
  percent: number;
}

/** Credits of a job (API.md JobView `credits`). */
export interface JobCredits {
  reserved: number;
  charged: number;
  refunded: number;
}

/** The whole state of a job as the workflow's `state` query returns it (and as the DB mirror stores it). */
export interface JobState {
  jobId: string;
  userId: string;
  presetId: string;
  status: JobStatus;
  itemCount: number;
  progress: Progress;
  credits: JobCredits;
  error: StateError | null;
  items: ItemState[];
  /** ISO times from the workflow clock. */
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** The ledger's answer to a reservation: held, or refused with the reason the API maps to 402/429. */
export type ReserveResult =
  | { ok: true; amount: number }
  | { ok: false; code: 'INSUFFICIENT_CREDITS'; needed: number; available: number }
  | { ok: false; code: 'TOO_MANY_ACTIVE_JOBS'; limit: number; active: number };

/** A refused reservation. */
export type ReserveRefusal = Exclude<ReserveResult, { ok: true }>;

/** The one human sentence for a refused reservation (the job's error and the API's 402/429 message). */
export function refusalMessage(r: ReserveRefusal): string {
  return r.code === 'INSUFFICIENT_CREDITS'
    ? `the job needs ${r.needed} credits, ${r.available} available`
    : `${r.active} active jobs, the plan allows ${r.limit}`;
}

/** Non-retryable item failure types (ApplicationFailure `type`): the item fails, the job goes on. */
export const ItemFailure = {
  INVALID_IMAGE: 'INVALID_IMAGE',
  IMAGE_TOO_LARGE: 'IMAGE_TOO_LARGE',
  /** The original (or a mask) is gone from storage: retrying cannot bring it back. */
  INPUT_MISSING: 'INPUT_MISSING',
  /** The rule's parameters cannot be rendered (the API validates them, so this is rare). */
  INVALID_PARAMS: 'INVALID_PARAMS',
} as const;
/** A non-retryable item failure type. */
export type ItemFailure = (typeof ItemFailure)[keyof typeof ItemFailure];
