/**
 * The API's side of the job workflow: start it with the credit reservation (Update-with-Start), send updates, read
 * its state, and turn Temporal's errors into API errors. Routes talk to workflows only through this module.
 */
import { WithStartWorkflowOperation, WorkflowUpdateFailedError, isGrpcServiceError, type Client } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import {
  INVALID_STATE,
  JOB_WORKFLOW_TYPE,
  cancelSignal,
  cancelUpdate,
  confirmUploadUpdate,
  executeUpdate,
  jobWorkflowId,
  reserveUpdate,
  stateQuery,
  type ExecuteInput,
  type JobInput,
} from '../workflows/contract';
import type { JobState, ReserveResult } from '../domain/jobData';
import { jobSearchAttributes } from '../workflows/searchAttributes';
import { ApiError } from './errors';

/** Raised when the workflow of a job no longer exists (closed and past retention). */
export class WorkflowGoneError extends Error {}

/** Maps a Temporal client error to an ApiError (or WorkflowGoneError). */
export function mapTemporalError(err: unknown): Error {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === INVALID_STATE) {
    return new ApiError('INVALID_STATE', err.cause.message);
  }
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === 'UNAVAILABLE') {
    return new ApiError('UNAVAILABLE', 'the credit ledger is unavailable, try again shortly');
  }
  if (err instanceof WorkflowNotFoundError) return new WorkflowGoneError(err.message);
  // gRPC UNAVAILABLE (14) / DEADLINE_EXCEEDED (4), or no connection at all: the Temporal server is down or unreachable.
  // Other gRPC errors (INVALID_ARGUMENT…) are bugs and stay 500s.
  const cause = (err as { cause?: unknown })?.cause;
  const grpc = isGrpcServiceError(err) ? err : isGrpcServiceError(cause) ? cause : undefined;
  if (
    (grpc && (grpc.code === 14 || grpc.code === 4)) ||
    /ECONNREFUSED|Failed to connect|Connection dropped/i.test(String((err as Error)?.message))
  ) {
    return new ApiError('UNAVAILABLE', 'the workflow service is unavailable, try again shortly');
  }
  return err as Error;
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapTemporalError(err);
  }
}

/** Job workflow operations for the API. */
export function createJobWorkflows(client: Client, taskQueue: string) {
  const handle = (jobId: string) => client.workflow.getHandle(jobWorkflowId(jobId));
  return {
    /**
     * Starts the job's workflow — or attaches to it while it runs — and returns the outcome of its credit reservation;
     * null when the workflow already ended (a job id is never started twice).
     */
    async start(input: JobInput): Promise<ReserveResult | null> {
      const startWorkflowOperation = new WithStartWorkflowOperation(JOB_WORKFLOW_TYPE, {
        workflowId: jobWorkflowId(input.jobId),
        taskQueue,
        args: [input],
        // USE_EXISTING: a retried request (same job id) attaches to the running workflow instead of failing.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: jobSearchAttributes(input.userId, input.presetId, 'created'),
      });
      try {
        return await call(() => client.workflow.executeUpdateWithStart(reserveUpdate, { startWorkflowOperation }));
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return null;
        throw err;
      }
    },
    confirmUpload: (jobId: string) => call(() => handle(jobId).executeUpdate(confirmUploadUpdate)),
    execute: (jobId: string, input: ExecuteInput) => call(() => handle(jobId).executeUpdate(executeUpdate, { args: [input] })),
    cancel: (jobId: string) => call(() => handle(jobId).executeUpdate(cancelUpdate)),
    /** Best-effort cancel signal (the workflow may not exist, or Temporal may be down): never throws. */
    async cancelQuietly(jobId: string): Promise<void> {
      await handle(jobId)
        .signal(cancelSignal)
        .catch(() => undefined);
    },
    state: (jobId: string): Promise<JobState> => call(() => handle(jobId).query(stateQuery)),
  };
}

/** The API's job workflow operations. */
export type JobWorkflows = ReturnType<typeof createJobWorkflows>;
