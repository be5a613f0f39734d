/**
 * Kernels that call libvips (sharp) from a kernel thread and leave their pixels in shared memory. The decoder's and
 * the blur's own output buffers are then allocated, and collected, in the thread's small heap instead of the event
 * loop's: V8 starts a full collection for about every 64 MB of new external memory, and each full collection of the
 * event loop's isolate marks all of its heap (the worker's SDKs and modules, ~25 MB), where a kernel thread's holds
 * little more than its tables. A 12 MP item's decode (36 MB) and feather blurs (~12 MB on the bench scene) cost the
 * event loop about one such collection per item; their copies into shared memory run off it too.
 */
import type { ItemFailure } from '../../domain/jobData';
import { decodeImage, ItemImageError, type ImageLimits } from '../../services/image/inputImage';
import { blurredRegion } from './feather';
import type { Rect } from './kernels';

/** What decodeInto found: the layout written, or the failure of a bad original (rebuilt as ItemImageError). */
export type DecodeOutcome = { width: number; height: number; channels: 3 | 4 } | { failure: ItemFailure; message: string };

/**
 * Decodes an original (services/image/inputImage.ts decodeImage: validated, upright 8-bit sRGB) into `out`, which
 * must hold exactly its pixels. A bad original is a result, not an error: a structured clone keeps an error's
 * message only, and the item's failure type must survive the trip.
 */
export async function decodeInto(bytes: Uint8Array, limits: ImageLimits, out: Uint8Array): Promise<DecodeOutcome> {
  try {
    const { data, width, height, channels } = await decodeImage(bytes, limits);
    if (data.length !== out.length) throw new Error(`${width}×${height}×${channels} pixels do not fill ${out.length} bytes`);
    out.set(data);
    return { width, height, channels };
  } catch (err) {
    if (err instanceof ItemImageError) return { failure: err.type, message: err.message };
    throw err;
  }
}

/**
 * The feather's blur of the region over `crop` (feather.ts blurredRegion) written into `out` (a crop's rows, from
 * its start); returns the level a flat inside reads.
 */
export async function blurRegionInto(
  region: Uint8Array,
  width: number,
  height: number,
  crop: Rect,
  radius: number,
  out: Uint8Array,
): Promise<number> {
  const { blurred, flatLevel } = await blurredRegion(region, width, height, crop, radius);
  out.set(blurred);
  return flatLevel;
}
