/**
 * The job workflow's contract: its name, task queue, input, updates, signals, queries and views. The API, the
 * workers and the tests all import this module, so no name is repeated as a string anywhere else.
 * Only `@temporalio/workflow` definitions and types live here: it is safe inside the workflow bundle.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { JobRule, JobState, ReserveResult } from '../domain/jobData';
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
  /** Task queue the GPU workers poll (segment). */
  gpuTaskQueue: string;
  /** Task queue the CPU workers poll (applyRule); absent in jobs started before the CPU fleet existed. */
  cpuTaskQueue?: string;
  /** Items in flight at once for this job (bounded fan-out). */
  maxInFlight: number;
}

/** What `execute` carries: the job's rule with resolved prompts, validated params and the results' format. */
export type ExecuteInput = JobRule;

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

/** The CPU queue of a job whose input names none (started before the CPU fleet existed); config's default. */
export const DEFAULT_CPU_TASK_QUEUE = 's3-cpu';

/** Reasons an update is rejected (ApplicationFailure type), mapped by the API to 409 INVALID_STATE. */
export const INVALID_STATE = 'INVALID_STATE';
