/** Worker-thread entry of the kernel pool: runs one kernel per message on shared memory and posts the result. */
import { parentPort } from 'node:worker_threads';
import { KERNELS, type KernelName } from './kernelTable';

interface Task {
  id: number;
  name: KernelName;
  args: unknown[];
}

parentPort!.on('message', ({ id, name, args }: Task) => {
  try {
    const fn = KERNELS[name] as (...a: unknown[]) => unknown;
    parentPort!.postMessage({ id, result: fn(...args) });
  } catch (err) {
    parentPort!.postMessage({ id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
