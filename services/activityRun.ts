/**
 * The Temporal side every GPU activity shares: periodic and per-step heartbeats (so a killed worker's item is
 * retried elsewhere and a cancel reaches us), cancellation (abort at the next step; long awaits are raced against it),
 * and failure classification (a bad image fails the item for good; everything else is retried by policy).
 */
import { CancelledFailure, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ItemImageError } from './image/inputImage';
import type { Storage } from './storage';

/** Marks progress: heartbeats with the step's name, and throws if the activity was cancelled. */
export type Step = (label: string) => void;

/** The failure to throw once the activity is cancelled: the SDK reports a CancelledFailure as a cancellation. */
export function cancellationOf(signal: AbortSignal): CancelledFailure {
  return signal.reason instanceof CancelledFailure ? signal.reason : new CancelledFailure('activity cancelled');
}

/** Resolves like `work`, or rejects as soon as `signal` aborts (the work itself is left to finish and is ignored). */
export function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(cancellationOf(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(cancellationOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Runs an activity body with heartbeats every `heartbeatMs` and at each step, mapping failures to Temporal's. */
export async function runActivity<T>(heartbeatMs: number, body: (step: Step, signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const signal = ctx.cancellationSignal;
  let current = 'start';
  const beat = (): void => ctx.heartbeat({ step: current });
  // Steps can be seconds apart on a 12 MP image (model run, PNG encode): keep heartbeating in between.
  const timer = setInterval(beat, heartbeatMs);
  const step: Step = (label) => {
    if (signal.aborted) throw cancellationOf(signal);
    current = label;
    beat();
  };
  try {
    step('start');
    return await body(step, signal);
  } catch (err) {
    // Whatever failed after a cancel (an aborted kernel, a half-finished upload) is reported as the cancellation.
    if (signal.aborted) throw cancellationOf(signal);
    if (err instanceof ItemImageError) throw ApplicationFailure.nonRetryable(err.message, err.type);
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/** One object an activity writes. */
export interface Upload {
  key: string;
  body: Buffer;
  contentType: string;
}

/**
 * Writes every file, or — once the activity is cancelled while they upload — none: it waits for the writes in flight
 * and deletes what they wrote. A cancelled item must leave nothing behind (a result in storage for an item the job
 * refunded), and a PUT that was on the wire when the cancel came can still land.
 */
export async function uploadAll(storage: Pick<Storage, 'put' | 'delete'>, files: Upload[], signal: AbortSignal): Promise<void> {
  const writes = Promise.all(files.map((f) => storage.put(f.key, f.body, f.contentType)));
  try {
    await abortable(writes, signal);
  } catch (err) {
    if (signal.aborted) {
      await writes.catch(() => undefined);
      await Promise.allSettled(files.map((f) => storage.delete(f.key)));
    }
    throw err;
  }
}
