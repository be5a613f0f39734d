/** Worker-thread entry of a kernel pool: loads its kernel table, runs one kernel per message, posts the result. */
import { parentPort, workerData } from 'node:worker_threads';
import type { KernelTable } from './kernelPool';

interface Task {
  id: number;
  name: string;
  args: unknown[];
}

const KERNELS = (require((workerData as { table: string }).table) as { KERNELS: KernelTable }).KERNELS;

// A kernel may be async (one that calls libvips): the pool sends a worker its next task only after this one's answer.
parentPort!.on('message', async ({ id, name, args }: Task) => {
  try {
    const fn = KERNELS[name];
    if (!fn) throw new Error(`no kernel '${name}' in ${(workerData as { table: string }).table}`);
    parentPort!.postMessage({ id, result: await fn(...args) });
  } catch (err) {
    parentPort!.postMessage({ id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
