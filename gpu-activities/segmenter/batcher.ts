/**
 * The GPU worker's dynamic batcher: concurrent callers (any job, any user) each submit one item; one batch runs at a
 * time (the GPU is one device), taking up to `maxBatch` items as soon as that many wait or `waitMs` has passed since
 * the oldest arrived; each result is routed back to its caller. A batch that fails as a whole is run again item by
 * item, so a bad item fails alone. An item whose signal aborts while it waits leaves the queue at once.
 */

/** What one batch run looked like, for metrics. */
export interface BatchStats {
  size: number;
  /** Per item: submitted -> its batch started, in ms. */
  queueWaitMs: number[];
  /** The batch's run time in ms (including any item-by-item re-run). */
  runMs: number;
}

/** How to build a batcher. */
export interface BatcherOptions<I, O> {
  /** Most items per batch (≥ 1). */
  maxBatch: number;
  /** How long the oldest waiting item may wait for batchmates, in ms. */
  waitMs: number;
  /** Runs one batch; returns one result per item, in order (an Error fails that item only). */
  run(items: I[]): Promise<(O | Error)[]>;
  /** Called after each batch. */
  onBatch?(stats: BatchStats): void;
}

/** A dynamic batcher (see the module comment). */
export interface Batcher<I, O> {
  /** Queues `item` for the next batch; rejects with the signal's reason if it aborts while the item still waits. */
  submit(item: I, signal?: AbortSignal): Promise<O>;
  /** Items waiting for a batch. */
  readonly waiting: number;
}

interface Entry<I, O> {
  item: I;
  at: number;
  resolve(value: O): void;
  reject(err: unknown): void;
  detach(): void;
}

const abortReason = (signal: AbortSignal): unknown => signal.reason ?? new Error('aborted');

/** Creates a batcher. */
export function createBatcher<I, O>(opts: BatcherOptions<I, O>): Batcher<I, O> {
  const maxBatch = Math.max(1, Math.floor(opts.maxBatch));
  const queue: Entry<I, O>[] = [];
  let running = false;
  let timer: NodeJS.Timeout | undefined;

  async function runBatch(items: I[]): Promise<(O | Error)[]> {
    try {
      const out = await opts.run(items);
      if (out.length !== items.length) throw new Error(`batch of ${items.length} returned ${out.length} results`);
      return out;
    } catch (err) {
      if (items.length === 1) return [err instanceof Error ? err : new Error(String(err))];
      // Which item broke the batch is unknown: each one alone, so only that one fails.
      const alone: (O | Error)[] = [];
      for (const item of items) alone.push((await runBatch([item]))[0]);
      return alone;
    }
  }

  function dispatch(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = queue.splice(0, maxBatch);
    batch.forEach((e) => e.detach());
    running = true;
    const started = performance.now();
    void runBatch(batch.map((e) => e.item))
      .then((results) => {
        results.forEach((r, i) => (r instanceof Error ? batch[i].reject(r) : batch[i].resolve(r)));
        try {
          opts.onBatch?.({ size: batch.length, queueWaitMs: batch.map((e) => started - e.at), runMs: performance.now() - started });
        } catch {
          // Metrics are an observer: a failing one must not become an unhandled rejection that ends the worker.
        }
      })
      .finally(() => {
        running = false;
        schedule();
      });
  }

  function schedule(): void {
    if (running || queue.length === 0) return;
    const waited = performance.now() - queue[0].at;
    if (queue.length >= maxBatch || waited >= opts.waitMs) return dispatch();
    // The timer belongs to the oldest item; a later arrival does not push it back.
    timer ??= setTimeout(() => {
      timer = undefined;
      schedule();
    }, opts.waitMs - waited);
  }

  return {
    get waiting() {
      return queue.length;
    },
    submit(item, signal) {
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      return new Promise<O>((resolve, reject) => {
        const onAbort = (): void => {
          const i = queue.indexOf(entry);
          if (i < 0) return;
          queue.splice(i, 1);
          if (queue.length === 0 && timer) {
            clearTimeout(timer);
            timer = undefined;
          }
          reject(abortReason(signal!));
        };
        const entry: Entry<I, O> = {
          item,
          at: performance.now(),
          resolve,
          reject,
          detach: () => signal?.removeEventListener('abort', onAbort),
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(entry);
        schedule();
      });
    },
  };
}
