/** The rule engine's kernel pool: the generic worker pool (services/kernelPool.ts) on this folder's kernel table. */
// sharp (libvips) is loaded by the main thread before any kernel thread loads it (decodeInto, blurRegionInto): on glibc
// a worker thread must not be the first to load it, or its exit would unload libvips under the others (lovell/sharp#2263).
import 'sharp';
import { WorkerKernelPool } from '../../services/kernelPool';
import type { KERNELS } from './kernelTable';

export { sharedBytes, sharedCopy, zeroFill } from '../../services/kernelPool';

/** Runs the rule kernels (kernelTable.ts) on up to `size` worker threads. */
export class KernelPool extends WorkerKernelPool<typeof KERNELS> {
  constructor(size: number = 2) {
    super(size, require.resolve('./kernelTable'), { name: 'coverage', args: [new Uint8Array(1)] });
  }
}
