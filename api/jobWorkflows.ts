/**
 * The API's side of the job workflow: start it with the credit reservation (Update-with-Start), send updates, read
 * its state, and turn Temporal's errors into API errors. Routes talk to workflows only through this module.
 */
import {
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcServiceError,
  type Client,
} from '@temporalio/client';
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
import { ApiError, RETRY_AFTER } from './errors';

/** How long a cancel waits for the workflow's answer once accepted: its own bound on settling (20 s) and a margin. */
export const CANCEL_SETTLE_MS = 30_000;

/** Raised when the workflow of a job no longer exists (closed and past retention). */
export class WorkflowGoneError extends Error {}

/** The API error of each ApplicationFailure type an update of the job workflow fails with. */
const UPDATE_FAILURES: Record<string, (message: string) => ApiError> = {
  [INVALID_STATE]: (message) => new ApiError('INVALID_STATE', message),
  // The reserve update's failures: the ledger was down, or it named a permanent reason.
  UNAVAILABLE: () => new ApiError('UNAVAILABLE', 'the credit ledger is unavailable, try again shortly', undefined, RETRY_AFTER),
  UNKNOWN_USER: () => new ApiError('UNAUTHORIZED', 'unknown user'),
  JOB_SETTLED: () => new ApiError('INVALID_STATE', 'the job has already settled'),
};

/** Maps a Temporal client error to an ApiError (or WorkflowGoneError). */
export function mapTemporalError(err: unknown): Error {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const toApi = UPDATE_FAILURES[err.cause.type ?? ''];
    if (toApi) return toApi(err.cause.message);
  }
  if (err instanceof WorkflowNotFoundError) return new WorkflowGoneError(err.message);
  // gRPC UNAVAILABLE (14), DEADLINE_EXCEEDED (4), CANCELLED (1: the call's deadline ended it) or RESOURCE_EXHAUSTED
  // (8: the server sheds load), an update call that ran out of its deadline (the SDK's own error for 4 and 1, whatever
  // its cause), or no connection at all: Temporal, or the worker an update waits for, is down, unreachable or
  // overloaded. Other gRPC errors (INVALID_ARGUMENT…) are bugs and stay 500s.
  const cause = (err as { cause?: unknown })?.cause;
  const grpc = isGrpcServiceError(err) ? err : isGrpcServiceError(cause) ? cause : undefined;
  if (
    err instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
    (grpc && [1, 4, 8, 14].includes(grpc.code)) ||
    /ECONNREFUSED|Failed to connect|Connection dropped/i.test(String((err as Error)?.message))
  ) {
    return new ApiError('UNAVAILABLE', 'the workflow service is unavailable, try again shortly', undefined, RETRY_AFTER);
  }
  return err as Error;
}

/** Past its deadline by this much, a call is given up on even if the SDK has not returned yet. */
const DEADLINE_GRACE_MS = 100;

/**
 * Runs `fn` with a gRPC deadline on every call inside it, and answers UNAVAILABLE once the deadline has passed even
 * when the SDK has not returned yet: with Temporal down, its reconnection attempts held answers 1.5–2 s past the
 * deadline. The abandoned call still ends by its own deadline.
 */
export function withinDeadline<T>(client: Pick<Client, 'withDeadline'>, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new ApiError('UNAVAILABLE', 'the workflow service did not answer in time, try again shortly', undefined, RETRY_AFTER)),
      timeoutMs + DEADLINE_GRACE_MS,
    );
    client
      .withDeadline(Date.now() + timeoutMs, fn)
      .then(resolve, reject)
      .finally(() => clearTimeout(timer));
  });
}

/** A Temporal call of the API: within its deadline (withinDeadline), failures mapped to API errors (mapTemporalError). */
export async function callWithin<T>(client: Pick<Client, 'withDeadline'>, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await withinDeadline(client, timeoutMs, fn);
  } catch (err) {
    throw mapTemporalError(err);
  }
}

/**
 * What starting a job's workflow learned: the ledger's answer (held or refused); that the workflow already ended (the
 * job id is spent); or that the workflow answered it could not reserve (it settles and ends by itself). In none of
 * the last three does the job hold credits. An unknown outcome (Temporal unreachable) is thrown instead.
 */
export type StartOutcome = { kind: 'answered'; result: ReserveResult } | { kind: 'ended' } | { kind: 'failed'; error: ApiError };

/** Job workflow operations for the API; every call gives up after `callTimeoutMs` (then UNAVAILABLE). */
export function createJobWorkflows(client: Client, taskQueue: string, callTimeoutMs: number) {
  const handle = (jobId: string) => client.workflow.getHandle(jobWorkflowId(jobId));
  // A deadline on every gRPC call inside fn: with the orchestration worker down an update or query would otherwise
  // wait for a poller for as long as the server lets it (30 s and more), and with Temporal down reconnect forever.
  const call = <T>(fn: () => Promise<T>, timeoutMs = callTimeoutMs): Promise<T> => callWithin(client, timeoutMs, fn);
  return {
    /** Starts the job's workflow — or attaches to it while it runs — and returns what it says of the reservation. */
    async start(input: JobInput): Promise<StartOutcome> {
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
        const result = await withinDeadline(client, callTimeoutMs, () =>
          client.workflow.executeUpdateWithStart(reserveUpdate, { startWorkflowOperation }),
        );
        return { kind: 'answered', result };
      } catch (err) {
        // A job id is never started twice: its workflow ran, and ended, without this create learning the outcome.
        if (err instanceof WorkflowExecutionAlreadyStartedError) return { kind: 'ended' };
        const mapped = mapTemporalError(err);
        if (err instanceof WorkflowUpdateFailedError && mapped instanceof ApiError) return { kind: 'failed', error: mapped };
        throw mapped;
      }
    },
    confirmUpload: (jobId: string) => call(() => handle(jobId).executeUpdate(confirmUploadUpdate)),
    execute: (jobId: string, input: ExecuteInput) => call(() => handle(jobId).executeUpdate(executeUpdate, { args: [input] })),
    /**
     * The cancel update waits for the job to settle (up to the workflow's own bound, 20 s): only its acceptance by
     * the workflow is held to the call deadline, so a dead worker is a fast 503 and a slow settle is no false one.
     */
    async cancel(jobId: string): Promise<JobState> {
      const update = await call(() => handle(jobId).startUpdate(cancelUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED }));
      return call(() => update.result(), CANCEL_SETTLE_MS);
    },
    /** Best-effort cancel signal (the workflow may not exist, or Temporal may be down): never throws. */
    async cancelQuietly(jobId: string): Promise<void> {
      await call(() => handle(jobId).signal(cancelSignal)).catch(() => undefined);
    },
    state: (jobId: string): Promise<JobState> => call(() => handle(jobId).query(stateQuery)),
  };
}

/** The API's job workflow operations. */
export type JobWorkflows = ReturnType<typeof createJobWorkflows>;
