/**
 * Applies RuleParams to decoded pixels, in place: for each operation in order, region = its concept's mask minus the
 * union of the protect masks, optionally feathered inward, then the edit. Pixel loops and the feather's blur (libvips)
 * run on the kernel pool, in shared memory; the blur operation's crop is blurred by libvips here. Pixels with alpha 0
 * are never written.
 */
import sharp from 'sharp';
import type { RuleParams } from '../../domain/ruleParams';
import type { RawImage } from '../../services/image/inputImage';
import { parseHex, rgbToLab } from './color';
import { growRect } from './feather';
import type { KernelPool } from './kernelPool';
import { SharedArena } from './sharedArena';
import { EMPTY_RECT, unionRect, type Feather, type LabAffine, type Rect } from './kernels';
import { adjustAffine, recolorAffine } from './operations';

/** What rendering needs. */
export interface RenderInput {
  /** The decoded original, in shared memory: rendering edits its pixels in place. */
  image: RawImage;
  /** Decodes the mask of a concept or protect id into `into` (width × height bytes); resolves to the rectangle
   * outside which it is all 0. */
  loadMask(id: string, into: Uint8Array): Promise<Rect>;
  protect: readonly string[];
  params: RuleParams;
}

/** Where rendering runs and how it reports. */
export interface RenderOptions {
  pool: KernelPool;
  /** Where the shared buffers come from (and go back to via `Rendered.release`). */
  arena?: SharedArena;
  signal?: AbortSignal;
  /** Called before each step (heartbeat hook). */
  onStep?(step: string): void;
}

/** The edited pixels and facts learned on the way. */
export interface Rendered {
  /** The input's pixels, edited. */
  pixels: Uint8Array;
  /** Union of the protect masks (0/255), or null without protect concepts. */
  protectUnion: Uint8Array | null;
  /** Where protectUnion may be set (it is 0 outside). */
  protectRect: Rect;
  /** The input's pixels inside protectRect (a crop, shared memory), for the checks; null without protect concepts. */
  protectOriginal: Uint8Array | null;
  /** id -> fraction of the image its mask covers, for every mask loaded. */
  coverage: Map<string, number>;
  /** Concept -> pixels of its region (its mask minus the protect union), for every operation's concept. */
  regionCounts: Map<string, number>;
  /** Hands the shared buffers it took (protectUnion and protectOriginal's included) back to the arena. */
  release(): void;
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** Renders the rule into the input's pixels. */
export async function renderRule(input: RenderInput, opts: RenderOptions): Promise<Rendered> {
  const { width, height } = input.image;
  const arena = opts.arena ?? new SharedArena(0);
  const buffers: Buffers = {
    pixels: input.image.data,
    scratch: arena.take(width * height),
    scratch2: arena.take(width * height),
    protectUnion: input.protect.length > 0 ? arena.take(width * height, true) : null,
    cropBuffer: null,
  };
  try {
    const facts = await applyOperations(input, opts, arena, buffers);
    arena.give(buffers.scratch, buffers.scratch2);
    const release = () => arena.give(buffers.protectUnion, buffers.cropBuffer);
    return { pixels: buffers.pixels, protectUnion: buffers.protectUnion, ...facts, release };
  } catch (err) {
    arena.give(buffers.scratch, buffers.scratch2, buffers.protectUnion, buffers.cropBuffer);
    throw err;
  }
}

/** The shared buffers of one render. */
interface Buffers {
  pixels: Uint8Array;
  /** The current operation's region, then its alpha. */
  scratch: Uint8Array;
  /** The feather's blurred crop (written by a kernel thread). */
  scratch2: Uint8Array;
  protectUnion: Uint8Array | null;
  /** The arena buffer protectOriginal starts, once taken. */
  cropBuffer: Uint8Array | null;
}

async function applyOperations(
  input: RenderInput,
  opts: RenderOptions,
  arena: SharedArena,
  buf: Buffers,
): Promise<Pick<Rendered, 'coverage' | 'regionCounts' | 'protectRect' | 'protectOriginal'>> {
  const { image, params } = input;
  const { pool, signal } = opts;
  const { width, height, channels } = image;
  const { pixels, scratch, scratch2, protectUnion } = buf;
  const coverage = new Map<string, number>();
  const regionCounts = new Map<string, number>();
  const fraction = (n: number): number => n / (width * height);
  const step = (label: string): void => {
    throwIfAborted(signal);
    opts.onStep?.(label);
  };

  let protectRect = EMPTY_RECT;
  for (const id of new Set(input.protect)) {
    step(`protect ${id}`);
    const rect = await input.loadMask(id, scratch);
    coverage.set(id, fraction(await pool.run('unionInto', [protectUnion!, scratch, width, rect], signal)));
    protectRect = unionRect(protectRect, rect);
  }
  // The checks compare the protected pixels with the original's: a crop of them, taken before any edit.
  let protectOriginal: Uint8Array | null = null;
  if (protectUnion) {
    const rowBytes = (protectRect.x1 - protectRect.x0) * channels;
    const length = rowBytes * (protectRect.y1 - protectRect.y0);
    // From the arena in a few sizes per octave (≤ 12.5 % over), so crops of any size are recycled like the other buffers.
    const unit = 2 ** Math.max(16, Math.floor(Math.log2(Math.max(1, length))) - 3);
    buf.cropBuffer = arena.take(Math.max(1, Math.ceil(length / unit)) * unit);
    protectOriginal = buf.cropBuffer.subarray(0, length);
    for (let y = protectRect.y0; y < protectRect.y1; y++) {
      const start = (y * width + protectRect.x0) * channels;
      protectOriginal.set(pixels.subarray(start, start + rowBytes), (y - protectRect.y0) * rowBytes);
    }
  }

  for (const [index, op] of params.operations.entries()) {
    step(`operation ${index} ${op.op} ${op.concept}`);
    const bounds = await input.loadMask(op.concept, scratch);
    const region = await pool.run('regionOf', [scratch, protectUnion, width, bounds], signal);
    coverage.set(op.concept, fraction(region.maskCount));
    regionCounts.set(op.concept, region.count);
    if (region.count === 0) continue;
    const { rect } = region;

    // recolor's mean L* is taken over the whole (unfeathered) region, before this operation changes anything.
    const target = op.op === 'recolor' ? rgbToLab(parseHex(op.color)) : null;
    const meanL = target ? await pool.run('meanLightness', [pixels, channels, scratch, width, rect, region.count], signal) : 0;

    // The feather's alpha: labAffine computes it as it goes; the other edits take it from a pass of featherAlpha.
    let feather: Feather | null = null;
    if (params.feather_px > 0) {
      const crop = growRect(rect, params.feather_px + 1, width, height);
      const flatLevel = await pool.run('blurRegionInto', [scratch, width, height, crop, params.feather_px, scratch2], signal);
      feather = { blurred: scratch2, crop, flatLevel };
      if (op.op === 'replace' || op.op === 'blur') await pool.run('featherAlpha', [scratch, width, scratch2, crop, flatLevel], signal);
    }

    let affine: LabAffine | null = null;
    switch (op.op) {
      case 'recolor':
        affine = recolorAffine(target!, meanL, op.strength);
        break;
      case 'adjust':
        affine = adjustAffine(op);
        break;
      case 'replace':
        await pool.run('fillColor', [pixels, channels, scratch, width, rect, parseHex(op.color)], signal);
        break;
      case 'blur': {
        const crop = growRect(rect, Math.ceil(3 * op.sigma) + 1, width, height);
        // An RGB crop can be larger than scratch2 (one byte per pixel): it goes by structured clone.
        const blurred = await blurCrop(pixels, image, crop, op.sigma);
        await pool.run('blendFrom', [pixels, channels, scratch, width, rect, blurred, crop], signal);
        break;
      }
      default: {
        const never: never = op;
        throw new Error(`unknown operation ${JSON.stringify(never)}`);
      }
    }
    if (affine) await pool.run('labAffine', [pixels, channels, scratch, width, rect, affine, feather], signal);
  }
  throwIfAborted(signal);
  return { coverage, regionCounts, protectRect, protectOriginal };
}

/** libvips' smallest Gaussian σ; API.md allows any σ in (0, 50]. */
const MIN_VIPS_SIGMA = 0.3;

/**
 * The exact 3×3 Gaussian for σ below libvips' bound: at σ < 0.3 the weights beyond one pixel are below 1e-12, so
 * three taps are the whole kernel (sampled, normalized; as integers over their sum, which is what convolve takes).
 */
export function smallGaussian(sigma: number): { width: 3; height: 3; kernel: number[]; scale: number } {
  const edge = Math.round(1e6 * Math.exp(-1 / (2 * sigma * sigma)));
  const taps = [edge, 1e6, edge];
  const kernel = taps.flatMap((a) => taps.map((b) => a * b));
  return { width: 3, height: 3, kernel, scale: kernel.reduce((x, y) => x + y, 0) };
}

/** The current pixels of `crop`, Gaussian-blurred by libvips. */
async function blurCrop(pixels: Uint8Array, image: RawImage, crop: Rect, sigma: number): Promise<Uint8Array> {
  const view = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length);
  const cropped = sharp(view, { raw: { width: image.width, height: image.height, channels: image.channels } }).extract({
    left: crop.x0,
    top: crop.y0,
    width: crop.x1 - crop.x0,
    height: crop.y1 - crop.y0,
  });
  const out = await (sigma < MIN_VIPS_SIGMA ? cropped.convolve(smallGaussian(sigma)) : cropped.blur(sigma)).raw().toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
