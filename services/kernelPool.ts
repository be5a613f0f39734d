/**
 * A small pool of worker threads running named kernels — functions of a kernel table module — so pixel and mask
 * loops never block the event loop that carries an activity's heartbeats and cancellation (the rule engine's kernels
 * on a CPU worker, the segmenter's post-processing on a GPU worker). A kernel may be async (the rule engine's decode
 * and blur call libvips); a thread runs one kernel at a time. Arrays a kernel writes must live in SharedArrayBuffers
 * (see sharedBytes); other arguments and results are structured-cloned.
 */
import { Worker } from 'node:worker_threads';
import { extname, join } from 'node:path';

export { sharedBytes, sharedCopy, zeroFill } from './sharedMemory';

/** A kernel table: name -> function, sync or async (the module exports it as `KERNELS`). */

export type KernelTable = Record<string, (...args: any[]) => unknown>;

interface Pending {
  name: string;
  args: unknown[];
  resolve(value: unknown): void;
  reject(err: Error): void;
  signal?: AbortSignal;
}

interface Slot {
  worker: Worker;
  busy?: Pending;
}

/**
 * Runs the kernels of the table module `table` (an absolute path, e.g. `require.resolve('./kernelTable')`; its
 * `KERNELS` export has type T) on up to `size` worker threads, first come first served.
 */
export class WorkerKernelPool<T extends KernelTable> {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closed = false;

  constructor(
    readonly size: number,
    private readonly table: string,
    /** A cheap kernel and arguments `warm` runs once per thread. */
    private readonly warmCall: { name: keyof T & string; args: unknown[] },
  ) {
    if (size < 1) throw new Error('kernel pool size must be >= 1');
  }

  /** Runs a kernel in a worker; rejects without running when `signal` is aborted before a worker picks it up. */
  run<K extends keyof T & string>(name: K, args: Parameters<T[K]>, signal?: AbortSignal): Promise<Awaited<ReturnType<T[K]>>> {
    if (this.closed) return Promise.reject(new Error('kernel pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ name, args, resolve: resolve as (v: unknown) => void, reject, signal });
      this.dispatch();
    });
  }

  /** Starts every worker and waits until each has loaded the kernels (call at process start, off the hot path). */
  async warm(): Promise<void> {
    await Promise.all(
      Array.from({ length: this.size }, () => this.run(this.warmCall.name, this.warmCall.args as Parameters<T[keyof T & string]>)),
    );
  }

  /** Terminates the workers; pending work is rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error('kernel pool is closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const task = this.queue[0];
      if (task.signal?.aborted) {
        this.queue.shift();
        task.reject(task.signal.reason instanceof Error ? task.signal.reason : new Error('aborted'));
        continue;
      }
      const slot = this.slots.find((s) => !s.busy) ?? (this.slots.length < this.size ? this.spawn() : undefined);
      if (!slot) return;
      this.queue.shift();
      slot.busy = task;
      slot.worker.ref();
      slot.worker.postMessage({ id: this.nextId++, name: task.name, args: task.args });
    }
  }

  private spawn(): Slot {
    const file = join(__dirname, `kernelWorker${extname(__filename)}`);
    // Under ts-node (tests, dev) the worker needs the TypeScript hook too; compiled builds load the .js directly.
    const execArgv = extname(__filename) === '.ts' ? ['--require', 'ts-node/register/transpile-only'] : [];
    const slot: Slot = { worker: new Worker(file, { execArgv, workerData: { table: this.table } }) };
    slot.worker.on('message', (msg: { result?: unknown; error?: string }) => {
      const task = slot.busy!;
      slot.busy = undefined;
      slot.worker.unref();
      if (msg.error !== undefined) task.reject(new Error(`kernel ${task.name} failed: ${msg.error}`));
      else task.resolve(msg.result);
      this.dispatch();
    });
    slot.worker.on('error', (err) => this.retire(slot, err));
    slot.worker.on('exit', (code) => this.retire(slot, new Error(`kernel worker exited with code ${code}`)));
    // Idle workers must not keep the process alive; a busy one is ref'd while it works.
    slot.worker.unref();
    this.slots.push(slot);
    return slot;
  }

  private retire(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    slot.busy?.reject(err);
    slot.busy = undefined;
    if (!this.closed) this.dispatch();
  }
}
