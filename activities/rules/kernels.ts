/**
 * Per-pixel typed-array kernels of the rule engine: the work sharp/libvips has no exposed operation for (masked
 * region algebra, CIELAB affine edits with a per-pixel blend, measurements). They run inside kernel worker threads
 * (services/kernelWorker.ts) so a 12 MP image never blocks the activity's event loop. Images are interleaved 8-bit RGB or RGBA
 * (`channels`); masks and alpha maps are one byte per pixel. Only pixels with alpha > 0 are ever written, which is
 * what keeps everything outside a region bit-identical.
 */
import { D65, linearToSrgb, rgbToLab, srgbToLinear, type Lab } from './color';
import { deltaE2000 } from './ciede2000';

/** A pixel rectangle [x0, x1) × [y0, y1). */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Pixel count and bounding box of a region (rect is empty when count is 0), and the mask's own pixel count. */
export interface RegionStats {
  count: number;
  maskCount: number;
  rect: Rect;
}

/** Coefficients of an affine CIELAB edit: L' = kL·L + oL, [a' b'] = M·[a b] + [oa ob]. */
export interface LabAffine {
  kL: number;
  oL: number;
  m00: number;
  m01: number;
  m10: number;
  m11: number;
  oa: number;
  ob: number;
}

// sRGB code -> linear light, exact for all 256 codes.
const SRGB_TO_LINEAR = Float64Array.from({ length: 256 }, (_, v) => srgbToLinear(v));
// Linear light quantized to 16 bits -> rounded sRGB code. At the steepest point of the curve one quantization step
// is 0.05 of a code value, so this differs from exact rounding only for values within 0.025 of a .5 boundary.
const LINEAR_STEPS = 65535;
const LINEAR_TO_SRGB = Uint8Array.from({ length: LINEAR_STEPS + 1 }, (_, i) => Math.round(linearToSrgb(i / LINEAR_STEPS)));
// Cube root by table + linear interpolation: Math.cbrt is the single most expensive step of a pixel in V8 (measured
// ~2x slower per kernel); above CIELAB's ε the interpolation error is < 5e-6, i.e. < 0.001 in L*.
const CBRT_STEPS = 4096;
const CBRT = Float64Array.from({ length: CBRT_STEPS + 2 }, (_, i) => Math.cbrt(i / CBRT_STEPS));
const EPSILON = (6 / 29) ** 3;
const DELTA = 6 / 29;
const SLOPE = 1 / (3 * (6 / 29) ** 2);
const OFFSET = 4 / 29;
// Module-local copies: an imported object's properties are re-read on every pixel in CommonJS output.
const WHITE_X = D65.X;
const WHITE_Z = D65.Z;
// sRGB -> XYZ rows with X and Z already divided by the D65 white.
const XR = 0.4124564 / D65.X;
const XG = 0.3575761 / D65.X;
const XB = 0.1804375 / D65.X;
const ZR = 0.0193339 / D65.Z;
const ZG = 0.119192 / D65.Z;
const ZB = 0.9503041 / D65.Z;

/** CIELAB f(t) for t in [0, 1] via the table. */
function f(t: number): number {
  if (t <= EPSILON) return t * SLOPE + OFFSET;
  const x = t * CBRT_STEPS;
  const k = x | 0;
  return CBRT[k] + (x - k) * (CBRT[k + 1] - CBRT[k]);
}

function fInverse(u: number): number {
  return u > DELTA ? u * u * u : (u - OFFSET) / SLOPE;
}

function toCode(lin: number): number {
  return LINEAR_TO_SRGB[lin <= 0 ? 0 : lin >= 1 ? LINEAR_STEPS : (lin * LINEAR_STEPS + 0.5) | 0];
}

/** An empty rectangle. */
export const EMPTY_RECT: Rect = { x0: 0, y0: 0, x1: 0, y1: 0 };

/**
 * dst |= (src > 127) over `rect` (src is 0 outside it): accumulates the union of protect masks as 0/255; returns how
 * many pixels src covers.
 */
export function unionInto(dst: Uint8Array, src: Uint8Array, width: number, rect: Rect): number {
  let count = 0;
  for (let y = rect.y0; y < rect.y1; y++) {
    for (let i = y * width + rect.x0, end = y * width + rect.x1; i < end; i++) {
      if (src[i] > 127) {
        dst[i] = 255;
        count++;
      }
    }
  }
  return count;
}

/** The smallest rectangle holding both. */
export function unionRect(a: Rect, b: Rect): Rect {
  if (a.x1 <= a.x0 || a.y1 <= a.y0) return b;
  if (b.x1 <= b.x0 || b.y1 <= b.y0) return a;
  return { x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) };
}

/**
 * Turns a concept mask into its region in place: 255 where mask > 127 and not protected, else 0. Only `bounds` is
 * looked at (default: the whole mask): the mask must be 0 outside it.
 */
export function regionOf(mask: Uint8Array, protect: Uint8Array | null, width: number, bounds?: Rect): RegionStats {
  const height = mask.length / width;
  const b = bounds ?? { x0: 0, y0: 0, x1: width, y1: height };
  // Four pixels at a time where the buffers are word-aligned (the engine's shared buffers are): a mask is mostly
  // runs of 0 and of 255, and a word of either, with nothing protected under it, needs no write.
  const words = mask.byteOffset % 4 === 0 && (protect === null || protect.byteOffset % 4 === 0);
  const m32 = words ? new Uint32Array(mask.buffer, mask.byteOffset, mask.length >> 2) : null;
  const p32 = words && protect !== null ? new Uint32Array(protect.buffer, protect.byteOffset, protect.length >> 2) : null;
  let count = 0;
  let maskCount = 0;
  let x0 = width;
  let y0 = height;
  let x1 = 0;
  let y1 = 0;
  for (let y = b.y0; y < b.y1; y++) {
    const row = y * width;
    const stop = row + b.x1;
    let rowFirst = -1;
    let rowLast = -1;
    let i = row + b.x0;
    while (i < stop) {
      if (m32 !== null && (i & 3) === 0 && i + 4 <= stop) {
        const w = m32[i >> 2];
        if (w === 0) {
          i += 4;
          continue;
        }
        if (w === 0xffffffff && (p32 === null || p32[i >> 2] === 0)) {
          maskCount += 4;
          count += 4;
          if (rowFirst < 0) rowFirst = i - row;
          rowLast = i - row + 3;
          i += 4;
          continue;
        }
      }
      const m = mask[i];
      if (m <= 127) {
        if (m !== 0) mask[i] = 0;
      } else {
        maskCount++;
        if (protect !== null && protect[i] !== 0) mask[i] = 0;
        else {
          if (m !== 255) mask[i] = 255;
          count++;
          if (rowFirst < 0) rowFirst = i - row;
          rowLast = i - row;
        }
      }
      i++;
    }
    if (rowFirst < 0) continue;
    if (rowFirst < x0) x0 = rowFirst;
    if (rowLast + 1 > x1) x1 = rowLast + 1;
    if (y < y0) y0 = y;
    y1 = y + 1;
  }
  return { count, maskCount, rect: count === 0 ? EMPTY_RECT : { x0, y0, x1, y1 } };
}

/** A region's feather: its blur over `crop` (a crop's rows) and the level a flat inside reads there. */
export interface Feather {
  blurred: Uint8Array;
  crop: Rect;
  flatLevel: number;
}

/** Alpha of a region pixel by its blurred value: clamp(2·v·255/flatLevel − 255), a table of the 256 values. */
function featherTable(flatLevel: number): Uint8Array {
  const gain = 510 / flatLevel;
  const alphaOf = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    const v = Math.round(b * gain) - 255;
    alphaOf[b] = v <= 0 ? 0 : v >= 255 ? 255 : v;
  }
  return alphaOf;
}

/**
 * Inward feather: inside the region, alpha = clamp(2·v − 255) where v is the region blurred by a kernel of radius
 * feather_px (a crop at `crop`), normalized so a flat inside (`flatLevel`) reads 255; outside it stays 0. A pixel
 * farther than the radius from the edge sees only region pixels and keeps alpha 255, so softening happens only
 * within feather_px of the edge, and never outside the region. (labAffine applies it on the fly instead.)
 */
export function featherAlpha(region: Uint8Array, width: number, blurred: Uint8Array, crop: Rect, flatLevel: number): void {
  const cw = crop.x1 - crop.x0;
  const alphaOf = featherTable(flatLevel);
  for (let y = crop.y0; y < crop.y1; y++) {
    const row = y * width;
    const crow = (y - crop.y0) * cw - crop.x0;
    for (let x = crop.x0; x < crop.x1; x++) {
      if (region[row + x] !== 0) region[row + x] = alphaOf[blurred[crow + x]];
    }
  }
}

// Relative luminance Y in fixed point (2^-20 steps) per channel code, and L*(Y) for every step (4 MiB): a pixel's L*
// is then three table reads, a sum and a fourth read. Y is off by at most 1.5 steps, so L* by < 0.002 (the mean of a
// photo's region by ~1e-5).
const Y_BITS = 20;
const Y_OF = (weight: number) => Int32Array.from({ length: 256 }, (_, v) => Math.round(weight * srgbToLinear(v) * 2 ** Y_BITS));
const Y_R = Y_OF(0.2126729);
const Y_G = Y_OF(0.7151522);
const Y_B = Y_OF(0.072175);
/** Samples meanLightness takes by default. */
export const MEAN_L_SAMPLES = 2 ** 18;

const L_OF_Y = Float32Array.from({ length: 2 ** Y_BITS + 2 }, (_, q) => {
  const t = q / 2 ** Y_BITS;
  return t <= EPSILON ? 116 * (t * SLOPE + OFFSET) - 16 : 116 * Math.cbrt(t) - 16;
});

/**
 * Mean CIELAB L* of the region (0/255) over every step-th of its `count` pixels in scan order, step =
 * floor(count / maxSamples) (so maxSamples to 2·maxSamples − 1 samples), as regionColour takes them: exact for regions
 * of fewer than 2·maxSamples pixels. On the bench's 12 MP wall (5.5 MP) the default, 2^18, takes every 20th pixel of
 * every row, for a fifth of the cost; measured against the exact mean: 0.003 L* there, ≤ 0.05 L* (an eighth of an
 * 8-bit step) on 1–10 MP regions of textured photos (bench/README, item cost).
 */
export function meanLightness(
  img: Uint8Array,
  channels: number,
  region: Uint8Array,
  width: number,
  rect: Rect,
  count: number,
  maxSamples: number = MEAN_L_SAMPLES,
): number {
  if (count === 0) return 0;
  const step = Math.max(1, Math.floor(count / maxSamples));
  const r32 = region.byteOffset % 4 === 0 ? new Uint32Array(region.buffer, region.byteOffset, region.length >> 2) : null;
  let skip = 1;
  let sum = 0;
  let n = 0;
  for (let y = rect.y0; y < rect.y1; y++) {
    for (let i = y * width + rect.x0, end = y * width + rect.x1; i < end; i++) {
      if (r32 !== null && (i & 3) === 0 && i + 4 <= end) {
        const w = r32[i >> 2];
        if (w === 0 || (skip > 4 && w === 0xffffffff)) {
          if (w !== 0) skip -= 4;
          i += 3;
          continue;
        }
      }
      if (region[i] === 0 || --skip > 0) continue;
      skip = step;
      const p = i * channels;
      sum += L_OF_Y[Y_R[img[p]] + Y_G[img[p + 1]] + Y_B[img[p + 2]]];
      n++;
    }
  }
  return sum / n;
}

// 2^18 slots (2 MiB per kernel thread, allocated once): most of a photo region's distinct colours fit.
const COLOUR_CACHE_BITS = 18;
const colourCacheKeys = new Int32Array(1 << COLOUR_CACHE_BITS);
const colourCacheValues = new Int32Array(1 << COLOUR_CACHE_BITS);

/**
 * Applies an affine CIELAB edit to the region, blended by alpha (255 = fully edited). With `feather`, `alpha` is the
 * region (0/255) and each pixel's alpha is featherAlpha's, computed on the way instead of in a pass of its own.
 */
export function labAffine(
  img: Uint8Array,
  channels: number,
  alpha: Uint8Array,
  width: number,
  rect: Rect,
  k: LabAffine,
  feather: Feather | null = null,
): void {
  const { kL, oL, m00, m01, m10, m11, oa, ob } = k;
  const alphaOf = feather ? featherTable(feather.flatLevel) : null;
  const blurred = feather ? feather.blurred : alpha;
  const cw = feather ? feather.crop.x1 - feather.crop.x0 : 0;
  // The map is a pure function of the 24-bit colour, and a region of a photo holds far fewer distinct colours than
  // pixels (a 12 MP wall: a few hundred thousand). A direct-mapped cache of the exact results skips most of the
  // CIELAB round trips; a miss just recomputes and replaces the slot.
  const keys = colourCacheKeys.fill(-1);
  const values = colourCacheValues;
  let r8 = 0;
  let g8 = 0;
  let b8 = 0;
  for (let y = rect.y0; y < rect.y1; y++) {
    // Index in the blurred crop = image index + offset.
    const offset = feather ? (y - feather.crop.y0) * cw - feather.crop.x0 - y * width : 0;
    for (let i = y * width + rect.x0, end = y * width + rect.x1; i < end; i++) {
      let al = alpha[i];
      if (al === 0) continue;
      if (alphaOf !== null) {
        al = alphaOf[blurred[i + offset]];
        if (al === 0) continue;
      }
      const p = i * channels;
      const R = img[p];
      const G = img[p + 1];
      const B = img[p + 2];
      const key = (R << 16) | (G << 8) | B;
      const slot = Math.imul(key, 0x9e3779b1) >>> (32 - COLOUR_CACHE_BITS);
      if (keys[slot] === key) {
        const v = values[slot];
        r8 = v >>> 16;
        g8 = (v >>> 8) & 255;
        b8 = v & 255;
      } else {
        const r = SRGB_TO_LINEAR[R];
        const g = SRGB_TO_LINEAR[G];
        const b = SRGB_TO_LINEAR[B];
        const fx = f(XR * r + XG * g + XB * b);
        const fy = f(0.2126729 * r + 0.7151522 * g + 0.072175 * b);
        const fz = f(ZR * r + ZG * g + ZB * b);
        const L = 116 * fy - 16;
        const A = 500 * (fx - fy);
        const Bb = 200 * (fy - fz);
        const fy2 = (kL * L + oL + 16) / 116;
        const X2 = WHITE_X * fInverse(fy2 + (m00 * A + m01 * Bb + oa) / 500);
        const Y2 = fInverse(fy2);
        const Z2 = WHITE_Z * fInverse(fy2 - (m10 * A + m11 * Bb + ob) / 200);
        r8 = toCode(3.2404542 * X2 - 1.5371385 * Y2 - 0.4985314 * Z2);
        g8 = toCode(-0.969266 * X2 + 1.8760108 * Y2 + 0.041556 * Z2);
        b8 = toCode(0.0556434 * X2 - 0.2040259 * Y2 + 1.0572252 * Z2);
        keys[slot] = key;
        values[slot] = (r8 << 16) | (g8 << 8) | b8;
      }
      if (al === 255) {
        img[p] = r8;
        img[p + 1] = g8;
        img[p + 2] = b8;
      } else {
        img[p] = R + Math.round(((r8 - R) * al) / 255);
        img[p + 1] = G + Math.round(((g8 - G) * al) / 255);
        img[p + 2] = B + Math.round(((b8 - B) * al) / 255);
      }
    }
  }
}

/** Fills the region with a solid colour, blended by alpha. */
export function fillColor(img: Uint8Array, channels: number, alpha: Uint8Array, width: number, rect: Rect, rgb: number[]): void {
  for (let y = rect.y0; y < rect.y1; y++) {
    for (let i = y * width + rect.x0, end = y * width + rect.x1; i < end; i++) {
      const al = alpha[i];
      if (al === 0) continue;
      const p = i * channels;
      for (let c = 0; c < 3; c++) img[p + c] = img[p + c] + Math.round(((rgb[c] - img[p + c]) * al) / 255);
    }
  }
}

/** Blends `src` (an image crop at `crop`, same channels) into the region, by alpha; used for the blur operation. */
export function blendFrom(
  img: Uint8Array,
  channels: number,
  alpha: Uint8Array,
  width: number,
  rect: Rect,
  src: Uint8Array,
  crop: Rect,
): void {
  const cw = crop.x1 - crop.x0;
  for (let y = rect.y0; y < rect.y1; y++) {
    for (let x = rect.x0; x < rect.x1; x++) {
      const i = y * width + x;
      const al = alpha[i];
      if (al === 0) continue;
      const p = i * channels;
      const q = ((y - crop.y0) * cw + (x - crop.x0)) * channels;
      for (let c = 0; c < 3; c++) img[p + c] = img[p + c] + Math.round(((src[q + c] - img[p + c]) * al) / 255);
    }
  }
}

/**
 * Pixels inside `mask` (> 0) where some channel differs by more than `tolerance` between a crop of the original at
 * `rect` (rows of its width, same channels) and the full image `b`; only `rect` is looked at (the mask is 0 outside
 * it).
 */
export function countChanged(
  crop: Uint8Array,
  b: Uint8Array,
  channels: number,
  mask: Uint8Array,
  tolerance: number,
  width: number,
  rect: Rect,
): number {
  const cw = rect.x1 - rect.x0;
  let changed = 0;
  for (let y = rect.y0; y < rect.y1; y++) {
    const offset = (y - rect.y0) * cw - (y * width + rect.x0); // crop index = image index + offset
    for (let i = y * width + rect.x0, end = y * width + rect.x1; i < end; i++) {
      if (mask[i] === 0) continue;
      const p = i * channels;
      const q = (i + offset) * channels;
      const d0 = crop[q] - b[p];
      const d1 = crop[q + 1] - b[p + 1];
      const d2 = crop[q + 2] - b[p + 2];
      const d3 = channels === 4 ? crop[q + 3] - b[p + 3] : 0;
      if (d0 > tolerance || d0 < -tolerance || d1 > tolerance || d1 < -tolerance || d2 > tolerance || d2 < -tolerance) changed++;
      else if (d3 > tolerance || d3 < -tolerance) changed++;
    }
  }
  return changed;
}

/** Fraction of pixels with mask > 127; only `rect` is looked at when given (the mask is 0 outside it). */
export function coverage(mask: Uint8Array, width?: number, rect?: Rect): number {
  if (mask.length === 0) return 0;
  let n = 0;
  if (width === undefined || rect === undefined) {
    for (let i = 0; i < mask.length; i++) if (mask[i] > 127) n++;
  } else {
    for (let y = rect.y0; y < rect.y1; y++)
      for (let i = y * width + rect.x0, end = y * width + rect.x1; i < end; i++) if (mask[i] > 127) n++;
  }
  return n / mask.length;
}

/** The colour of a region on the written result: mean CIEDE2000 to the target (when there is one) and mean CIELAB. */
export interface RegionColour {
  meanDeltaE: number;
  meanLab: [number, number, number];
}

// Lab (and ΔE00 to the current target) by 24-bit colour, direct-mapped like labAffine's cache: a region's sampled
// pixels repeat colours, and rgbToLab + CIEDE2000 are the costly part of a sample.
const LAB_CACHE_BITS = 16;
const labCacheKeys = new Int32Array(1 << LAB_CACHE_BITS);
const labCacheValues = new Float64Array(4 << LAB_CACHE_BITS);

/**
 * Over every step-th region pixel (mask > 127 and not protected) in scan order, step = floor(count / maxSamples) —
 * exact for regions of fewer than 2·maxSamples pixels; a 65k-pixel sample puts the means within ~0.01 for photos: the mean CIEDE2000 to `target`
 * (0 without one) and the per-pixel mean CIELAB (so shading averages the way the eye compares two photos' walls),
 * rounded to 2 decimals. Only `rect` is looked at (the mask is 0 outside it); `count` is the region's pixel count.
 */
export function regionColour(
  img: Uint8Array,
  channels: number,
  mask: Uint8Array,
  protect: Uint8Array | null,
  width: number,
  rect: Rect,
  count: number,
  target: Lab | null,
  maxSamples: number,
): RegionColour {
  if (count === 0) return { meanDeltaE: 0, meanLab: [NaN, NaN, NaN] };
  const step = Math.max(1, Math.floor(count / maxSamples));
  const keys = labCacheKeys.fill(-1);
  const values = labCacheValues;
  // Between two samples lie step − 1 region pixels: where the buffers are word-aligned (the engine's are), four
  // pixels of region at a time are counted off without looking at them one by one, as regionOf does.
  const words = mask.byteOffset % 4 === 0 && (protect === null || protect.byteOffset % 4 === 0);
  const m32 = words ? new Uint32Array(mask.buffer, mask.byteOffset, mask.length >> 2) : null;
  const p32 = words && protect !== null ? new Uint32Array(protect.buffer, protect.byteOffset, protect.length >> 2) : null;
  // Every step-th region pixel from the first: a countdown to the next sample.
  let skip = 1;
  let n = 0;
  let sumE = 0;
  let sumL = 0;
  let sumA = 0;
  let sumB = 0;
  for (let y = rect.y0; y < rect.y1; y++) {
    for (let i = y * width + rect.x0, end = y * width + rect.x1; i < end; i++) {
      if (m32 !== null && (i & 3) === 0 && i + 4 <= end) {
        const w = m32[i >> 2];
        if (w === 0 || (skip > 4 && w === 0xffffffff && (p32 === null || p32[i >> 2] === 0))) {
          if (w !== 0) skip -= 4;
          i += 3;
          continue;
        }
      }
      if (mask[i] <= 127 || (protect !== null && protect[i] !== 0) || --skip > 0) continue;
      skip = step;
      const p = i * channels;
      const key = (img[p] << 16) | (img[p + 1] << 8) | img[p + 2];
      const slot = Math.imul(key, 0x9e3779b1) >>> (32 - LAB_CACHE_BITS);
      const v = slot * 4;
      if (keys[slot] !== key) {
        const lab = rgbToLab([img[p], img[p + 1], img[p + 2]]);
        keys[slot] = key;
        values[v] = lab[0];
        values[v + 1] = lab[1];
        values[v + 2] = lab[2];
        values[v + 3] = target ? deltaE2000(lab, target) : 0;
      }
      sumL += values[v];
      sumA += values[v + 1];
      sumB += values[v + 2];
      sumE += values[v + 3];
      n++;
    }
  }
  const r2 = (x: number) => Number((x / n).toFixed(2));
  return { meanDeltaE: sumE / n, meanLab: [r2(sumL), r2(sumA), r2(sumB)] };
}
