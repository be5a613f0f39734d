/**
 * The DB mirror of a workflow's machine (job or variant), batched so history stays small: at most one write in
 * flight, and each carries the row plus every item changed since the previous one. A burst of item completions
 * therefore costs one activity, not one per item, and each item's final state travels through history once.
 */
import { CancellationScope, condition } from '@temporalio/workflow';

/** Least time between two DB-mirror flushes while items are finishing (the API reads the live state by query). */
export const FLUSH_EVERY_MS = 1000;

/** What the flusher needs of a machine: a change counter and the delta since the previous flush. */
export interface FlushSource<R> {
  readonly version: number;
  hasChanges(): boolean;
  takeRecord(): R;
}

/**
 * A flusher writing `m`'s records with `write` (the mirror activity).
 *
 * `spaced` (new runs): every flush but the first and a drain's starts at least FLUSH_EVERY_MS after the previous one
 * started, however the completions are spread. Runs started before keep the older rule so their histories replay:
 * `throttled()` is asked after a flush that saw new changes whether to wait out the rest of FLUSH_EVERY_MS (the job
 * workflow answers with its patched() check). The older rule let a flush start right away whenever the previous one
 * had found nothing new, so items slower than a write (a loaded machine) each started their own flush.
 */
export function createFlusher<R>(m: FlushSource<R>, write: (record: R) => Promise<void>, throttled: () => boolean, spaced = false) {
  let wanted = false;
  let running = false;
  let draining = false;
  let failure: unknown;
  /** The machine's version the last finished flush carried. */
  let written = -1;
  /** Workflow time (deterministic) at which the last flush started. */
  let lastStarted: number | undefined;
  async function pump() {
    try {
      while (wanted) {
        if (spaced && lastStarted !== undefined && !draining) {
          // Let the completions pile up until FLUSH_EVERY has passed since the last flush; a drain cuts the wait short.
          const rest = FLUSH_EVERY_MS - (Date.now() - lastStarted);
          if (rest > 0) await condition(() => draining, rest);
        }
        wanted = false;
        const started = (lastStarted = Date.now());
        const version = m.version;
        await write(m.takeRecord());
        written = version;
        if (!spaced && wanted && !draining && throttled()) {
          // When the GPUs (or CPUs) set the pace, items finish one by one and every completion would start its own
          // flush (about one per item: history and server writes double). Wait out the rest of FLUSH_EVERY and let
          // the completions pile up; a drain (the end of the run) cuts the wait short.
          const rest = FLUSH_EVERY_MS - (Date.now() - started);
          if (rest > 0) await condition(() => draining, rest);
        }
      }
    } catch (err) {
      failure = err; // retries are unlimited: only a non-retryable failure lands here; drain() reports it
    } finally {
      running = false;
    }
  }
  return {
    /** Schedules a flush of the current state (coalesced with any pending one). */
    request() {
      wanted = true;
      // Detached from the caller's scope: a flush started by an item must survive the fan-out's cancellation.
      if (running) return;
      running = true;
      void CancellationScope.nonCancellable(pump);
    },
    /** Waits until a flush carrying the current state has been written (a flush must have been requested). */
    async flushed() {
      const version = m.version;
      await condition(() => written >= version || failure !== undefined);
      if (failure) throw failure;
    },
    /** Flushes what is left and waits for it. */
    async drain() {
      draining = true;
      if (m.hasChanges()) wanted = true;
      if (wanted) this.request();
      await condition(() => !running && !wanted);
      if (failure) throw failure;
    },
  };
}
