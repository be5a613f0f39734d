/**
 * The blurred region a feather is made from, by libvips: a Gaussian with σ = feather_px / 2 whose kernel is cut at
 * amplitude 0.125, which makes its radius exactly feather_px for every feather_px in [1, 32] (libvips sizes the mask
 * to the last integer offset whose amplitude is ≥ min_ampl; exp(-2) ≥ 0.125 > exp(-2(1 + 1/f)²)). Integer precision
 * is ~4× faster than float here but its rounded mask has a DC gain slightly off 1, so the result is rescaled by the
 * blur of a flat 255 patch: a pixel farther than the radius from the edge then reads exactly 255.
 */
import sharp, { type BlurOptions } from 'sharp';
import type { Rect } from './kernels';

const MIN_AMPLITUDE = 0.125;
const flatLevel = new Map<number, number>();

function blurOptions(radius: number): BlurOptions {
  return { sigma: radius / 2, minAmplitude: MIN_AMPLITUDE, precision: 'integer' };
}

/** What the blur makes of a flat 255 area (cached per radius). */
async function flatResponse(radius: number): Promise<number> {
  let level = flatLevel.get(radius);
  if (level === undefined) {
    const n = 4 * radius + 3;
    const out = await sharp(Buffer.alloc(n * n, 255), { raw: { width: n, height: n, channels: 1 } })
      .blur(blurOptions(radius))
      .toColourspace('b-w')
      .raw()
      .toBuffer();
    level = out[(n * n - 1) / 2];
    flatLevel.set(radius, level);
  }
  return level;
}

/** A rect grown by `margin` on every side, clipped to the image. */
export function growRect(r: Rect, margin: number, width: number, height: number): Rect {
  return {
    x0: Math.max(0, r.x0 - margin),
    y0: Math.max(0, r.y0 - margin),
    x1: Math.min(width, r.x1 + margin),
    y1: Math.min(height, r.y1 + margin),
  };
}

/**
 * The region (0/255, full image) blurred with a radius-`radius` kernel over `crop` only, and the level a flat inside
 * reads (the kernel's DC response, see above) for the feather kernel to normalize by. `crop` must extend past the
 * region by more than the radius wherever it is not the image border (libvips extends borders by copying, so an image
 * border is not an edge).
 */
export async function blurredRegion(
  region: Uint8Array,
  width: number,
  height: number,
  crop: Rect,
  radius: number,
): Promise<{ blurred: Uint8Array; flatLevel: number }> {
  const view = Buffer.from(region.buffer, region.byteOffset, region.length);
  const out = await sharp(view, { raw: { width, height, channels: 1 } })
    .extract({ left: crop.x0, top: crop.y0, width: crop.x1 - crop.x0, height: crop.y1 - crop.y0 })
    .blur(blurOptions(radius))
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  return { blurred: new Uint8Array(out.buffer, out.byteOffset, out.length), flatLevel: await flatResponse(radius) };
}
