/**
 * The job workflow's contract: its name, task queue, input, updates, signals, queries and views. The API, the
 * workers and the tests all import this module, so no name is repeated as a string anywhere else.
 * Only `@temporalio/workflow` definitions and types live here: it is safe inside the workflow bundle.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ItemChecks, PromptRef } from '../gpu-activities/contract';
import type { ItemStatus, JobStatus, StateError } from '../domain/jobStates';
import type { RuleParams } from '../domain/ruleParams';
import type { UploadContentType } from '../domain/storageKeys';

/** Workflow type name registered by the orchestration worker. */
export const JOB_WORKFLOW_TYPE = 'jobWorkflow';

/** The workflow id of a job. */
export function jobWorkflowId(jobId: string): string {
  return `job-${jobId}`;
}

/** Custom search attributes (all Keyword) the job workflow upserts; registered by the dev stack and tests. */
export const JOB_SEARCH_ATTRIBUTES = { userId: 'S3UserId', presetId: 'S3PresetId', status: 'S3JobStatus' } as const;

/** Input of the job workflow, fixed at start. */
export interface JobInput {
  jobId: string;
  userId: string;
  presetId: string;
  itemCount: number;
  contentType: UploadContentType;
  /** Credits per item; the reservation is itemCount × unitCost. */
  unitCost: number;
  /** How long to wait for confirm-upload (and then for execute), a duration string like `24h`. */
  uploadTimeout: string;
  /** Task queue the GPU workers poll. */
  gpuTaskQueue: string;
  /** Items in flight at once for this job (bounded fan-out). */
  maxInFlight: number;
}

/** Outcome of the credit reservation, returned to `POST /jobs` through Update-with-Start. */
export type ReserveResult =
  | { ok: true; amount: number }
  | { ok: false; code: 'INSUFFICIENT_CREDITS'; needed: number; available: number }
  | { ok: false; code: 'TOO_MANY_ACTIVE_JOBS'; limit: number; active: number };

/** What `execute` carries: resolved prompts and validated params (the API checked them against the preset). */
export interface ExecuteInput {
  concepts: PromptRef[];
  protect: PromptRef[];
  params: RuleParams;
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

/** The whole state of a job as the `state` query returns it (and as the DB mirror stores it). */
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

/** Update-with-Start target: reserves the job's credits; the workflow ends by itself when refused. */
export const reserveUpdate = defineUpdate<ReserveResult>('reserve');
/** The API has verified every input object; `created -> uploaded` (idempotent once uploaded). */
export const confirmUploadUpdate = defineUpdate<JobState>('confirmUpload');
/** Start processing; `uploaded -> queued`. */
export const executeUpdate = defineUpdate<JobState, [ExecuteInput]>('execute');
/** Cancel and wait until the job has settled; returns the final state. */
export const cancelUpdate = defineUpdate<JobState>('cancel');
/** Fire-and-forget cancel (e.g. from the Temporal UI or CLI). */
export const cancelSignal = defineSignal('cancel');
/** The job's current state. */
export const stateQuery = defineQuery<JobState>('state');

/** Reasons an update is rejected (ApplicationFailure type), mapped by the API to 409 INVALID_STATE. */
export const INVALID_STATE = 'INVALID_STATE';
