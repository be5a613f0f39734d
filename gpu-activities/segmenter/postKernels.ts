/**
 * The segmenter's post-processing as pool kernels (services/kernelPool.ts): what one prompt's detections become — the
 * instances kept, their union, resampled to the working size, and its coverage — on a worker thread, so a GPU worker's
 * event loop only moves bytes while batches of 16 images × 3 prompts come back from the model.
 */
import { resampleMask } from '../../services/image/maskResample';
import { maskCoverage, selectInstances, unionMask, type InstanceMasks, type PostprocessOptions } from './postprocess';

/** One prompt's mask at `outWidth` × `outHeight` (the working size) and its coverage. */
export function promptMask(
  scores: Float32Array,
  instances: InstanceMasks,
  post: PostprocessOptions,
  outWidth: number,
  outHeight: number,
): { mask: Uint8Array; coverage: number } {
  const union = unionMask(instances, selectInstances(scores, instances, post));
  // Every mask of one image has the working size: usls's come at 288² (the real export) and are resampled here, as
  // is any export that ignores the requested size.
  const sameSize = instances.width === outWidth && instances.height === outHeight;
  const mask = sameSize ? union.mask : resampleMask(union.mask, instances.width, instances.height, outWidth, outHeight);
  return { mask, coverage: maskCoverage(mask) };
}

/** The kernels a post-processing pool runs. */
export const KERNELS = {
  promptMask,
  /** Loads the module in a thread (the pool's warm-up). */
  ping: (): true => true,
} as const;
