/**
 * A Runpod Serverless job as both its reporters see it — the webhook (API) and the /status poll (dispatcher) — and
 * how its outcome settles the `segment` activity that submitted it, by task token. Both paths go through `settleJob`,
 * so a job completes the same way whichever report arrives first; the second finds the activity closed.
 */
import { ActivityNotFoundError, type AsyncCompletionClient } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { ItemFailure } from '../domain/jobData';

/** Runpod job statuses (`/status/{id}` and the webhook body). */
export const RUNPOD_TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;

/** The job payload of `/status/{id}` and of the webhook (the same document, per Runpod's docs). */
export const RunpodJob = z.object({
  id: z.string().min(1),
  status: z.string().min(1),
  output: z.unknown().optional(),
  error: z.unknown().optional(),
  /** Milliseconds in Runpod's queue before a worker took the job. */
  delayTime: z.number().nonnegative().optional(),
  /** Milliseconds the worker ran it. */
  executionTime: z.number().nonnegative().optional(),
});
/** A Runpod job report. */
export type RunpodJob = z.infer<typeof RunpodJob>;

/** The handler's output: what `segment` returns (structurally gpu-activities/contract.ts SegmentResult). */
export const SegmentOutput = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  masks: z.record(z.string(), z.string()),
  coverage: z.record(z.string(), z.number()),
});

/** What the Runpod handler puts in `error` (JSON text) when the engine failed an item. */
export const HandlerError = z.object({ type: z.string(), message: z.string(), nonRetryable: z.boolean().optional() });

/** Failure types the adapter reports (retryable under the workflow's item retry policy). */
export const RunpodFailure = {
  FAILED: 'RUNPOD_FAILED',
  TIMED_OUT: 'RUNPOD_TIMED_OUT',
  CANCELLED: 'RUNPOD_CANCELLED',
  BAD_OUTPUT: 'RUNPOD_BAD_OUTPUT',
} as const;

/** How a job report settles its activity. */
export type Settlement =
  | { kind: 'complete'; result: z.infer<typeof SegmentOutput> }
  | { kind: 'fail'; failure: ApplicationFailure }
  /** Not finished yet, or CANCELLED: only the dispatcher knows whether the activity asked for that cancel. */
  | { kind: 'wait' };

/** Maps a job report to its settlement. A bad image stays non-retryable; every Runpod-side failure is retryable. */
export function settlementOf(job: RunpodJob): Settlement {
  switch (job.status) {
    case 'COMPLETED': {
      const out = SegmentOutput.safeParse(job.output);
      if (out.success) return { kind: 'complete', result: out.data };
      return fail(RunpodFailure.BAD_OUTPUT, `Runpod job ${job.id} completed without a segment result`);
    }
    case 'FAILED': {
      const err = handlerError(job.error);
      if (err && (Object.values(ItemFailure) as string[]).includes(err.type) && err.nonRetryable !== false) {
        return { kind: 'fail', failure: ApplicationFailure.nonRetryable(err.message, err.type) };
      }
      return fail(RunpodFailure.FAILED, `Runpod job ${job.id} failed: ${err ? `${err.type}: ${err.message}` : describe(job.error)}`);
    }
    case 'TIMED_OUT':
      return fail(RunpodFailure.TIMED_OUT, `Runpod job ${job.id} timed out`);
    default:
      return { kind: 'wait' };
  }
}

/** The outcome of reporting a settlement to Temporal. */
export type SettleOutcome = 'completed' | 'failed' | 'waiting' | 'duplicate';

/** Completes or fails the activity of `taskToken` from a job report; 'duplicate' when it was already closed. */
export async function settleJob(activity: AsyncCompletionClient, taskToken: Uint8Array, job: RunpodJob): Promise<SettleOutcome> {
  const s = settlementOf(job);
  try {
    if (s.kind === 'complete') await activity.complete(taskToken, s.result);
    else if (s.kind === 'fail') await activity.fail(taskToken, s.failure);
    else return 'waiting';
  } catch (err) {
    // Closed already: the other reporter was first, a retry superseded this attempt, or this is a repeated webhook.
    if (err instanceof ActivityNotFoundError) return 'duplicate';
    throw err;
  }
  return s.kind === 'complete' ? 'completed' : 'failed';
}

function fail(type: string, message: string): Settlement {
  return { kind: 'fail', failure: ApplicationFailure.retryable(message, type) };
}

/** The handler's structured error, when `error` is its JSON (the runpod SDK passes it through as text). */
function handlerError(error: unknown): z.infer<typeof HandlerError> | undefined {
  if (typeof error !== 'string') return HandlerError.safeParse(error).data;
  try {
    return HandlerError.safeParse(JSON.parse(error)).data;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  const text = typeof error === 'string' ? error : JSON.stringify(error ?? 'no error given');
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
