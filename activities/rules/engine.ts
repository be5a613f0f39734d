/**
 * applyRule without storage or Temporal: original + mask PNGs + RuleParams -> result (PNG, or JPEG/WebP when asked),
 * JPEG preview (≤ 512 px) and the checks measured on the written result. The activity wraps this with storage, heartbeats and failure classification; the bench
 * calls it directly.
 */
import sharp from 'sharp';
import type { RuleParams } from '../../domain/ruleParams';
import type { ItemChecks } from '../../domain/jobData';
import type { OutputFormat } from '../../domain/storageKeys';
import { DEFAULT_IMAGE_LIMITS, inspectImage, ItemImageError, type ImageLimits, type RawImage } from '../../services/image/inputImage';
import { measureChecks } from './checks';
import type { KernelPool } from './kernelPool';
import { SharedArena } from './sharedArena';
import { decodeMask } from '../../services/image/masks';
import { encodePngFast, PPM_HEADROOM, type FastPngOptions } from '../../services/image/fastPng';
import { renderRule, type Rendered } from './render';
import type { Rect } from './kernels';

/** Engine settings. */
export interface RuleEngineOptions {
  pool: KernelPool;
  limits?: ImageLimits;
  /**
   * How the result PNG is compressed (the CPU worker passes RESULT_PNG_LEVEL): `fast` (default), the png crate's fast
   * deflate with adaptive row filters, or a zlib level 1–9 of libvips, unfiltered. Measured against each other:
   * bench/README "item cost".
   */
  pngCompressionLevel?: PngLevel;
  /**
   * Largest result (pixels) `fast` encodes (default FAST_PNG_MAX_PIXELS); a larger one is written by libvips at
   * level 3, which streams rows instead of copying the image.
   */
  fastPngMaxPixels?: number;
  /** Long side of the preview (default 512). */
  previewSize?: number;
  deltaESamples?: number;
  /** Where shared buffers are recycled (default: one arena per engine). */
  arena?: SharedArena;
}

/** A result PNG's compression: the fast encoder (services/image/fastPng.ts) or a libvips zlib level 1–9. */
export type PngLevel = 'fast' | number;

/**
 * 24 MP: phone photos (12 MP, 48 MP binned to 12) and most cameras' default size. The fast encoder holds ~5 bytes per
 * pixel while it runs (libvips ~2: services/image/fastPng.ts); at the 50 MP input limit that would be ~250 MB per
 * concurrent item.
 */
export const FAST_PNG_MAX_PIXELS = 24_000_000;

/** One item to render: the encoded original, id -> mask PNG, the rule. */
export interface RuleRequest {
  image: Uint8Array;
  masks: Readonly<Record<string, Uint8Array>>;
  concepts: readonly string[];
  protect: readonly string[];
  params: RuleParams;
  /** The result's format (default png, lossless). */
  outputFormat?: OutputFormat;
}

/**
 * Levels per channel a protected pixel may move in a lossy result and still count as unchanged (API.md "Output
 * format"): JPEG/WebP re-quantize every block, so "bit-identical outside the regions" only holds for PNG.
 */
export const LOSSY_PROTECT_TOLERANCE = 3;

/** Per-call hooks. */
export interface RuleCallOptions {
  signal?: AbortSignal;
  onStep?(step: string): void;
}

/** Where the time went, in milliseconds. */
export interface RuleTimings {
  decodeMs: number;
  renderMs: number;
  encodeMs: number;
  checksMs: number;
}

/** The written files and the checks measured on them. */
export interface RuleOutput {
  width: number;
  height: number;
  /** The encoded result, in the request's output format. */
  result: Buffer;
  previewJpeg: Buffer;
  checks: ItemChecks;
  timings: RuleTimings;
}

/** Parameters libvips refuses to render (its argument checks): retrying the same rule cannot help. */
export class RuleRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleRenderError';
  }
}

// sharp checks its arguments before any work and words every refusal "Expected … for <name> but received …" (from a
// kernel thread, after "kernel <name> failed: Error: ").
function asRenderError(err: unknown): unknown {
  return err instanceof Error && /(^|Error: )Expected .* for \w+ but received /.test(err.message) ? new RuleRenderError(err.message) : err;
}

/** The rule engine the activities use. */
export interface RuleEngine {
  apply(req: RuleRequest, call?: RuleCallOptions): Promise<RuleOutput>;
}

/** Creates the engine on a kernel pool. */
export function createRuleEngine(opts: RuleEngineOptions): RuleEngine {
  const limits = opts.limits ?? DEFAULT_IMAGE_LIMITS;
  const previewSize = opts.previewSize ?? 512;
  // One arena per engine: concurrent items each take their own buffers; finished items return them.
  const arena = opts.arena ?? new SharedArena();
  const fastMax = opts.fastPngMaxPixels ?? FAST_PNG_MAX_PIXELS;
  const pngLevelFor = (pixels: number): PngLevel => {
    const level = opts.pngCompressionLevel ?? 'fast';
    return level === 'fast' && pixels > fastMax ? 3 : level;
  };
  return {
    async apply(req, call = {}) {
      const { signal } = call;
      const step = (label: string): void => {
        if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
        call.onStep?.(label);
      };
      const timings: RuleTimings = { decodeMs: 0, renderMs: 0, encodeMs: 0, checksMs: 0 };
      let t = performance.now();
      const lap = (key: keyof RuleTimings): void => {
        const now = performance.now();
        timings[key] += now - t;
        t = now;
      };

      // The header here (size, format, the item failures it shows), the pixels on a kernel thread (imageKernels.ts),
      // PPM_HEADROOM bytes into a shared buffer: the fast PNG encoder writes its header there rather than copying the
      // image behind one.
      const info = await inspectImage(req.image, limits);
      const { width, height } = info;
      const channels: 3 | 4 = info.hasAlpha ? 4 : 3;
      const pixelsBuffer = arena.take(PPM_HEADROOM + width * height * channels);
      const held: Uint8Array[] = [];
      let rendered: Rendered | undefined;
      try {
        const pixels = pixelsBuffer.subarray(PPM_HEADROOM);
        const decoded = await opts.pool.run('decodeInto', [req.image, limits, pixels], signal);
        if ('failure' in decoded) throw new ItemImageError(decoded.failure, decoded.message);

        // Render and checks both read masks: each PNG is decoded once per item, with the rectangle outside which it
        // is all 0 (the kernels look only inside it); render copies it (its kernels write), the checks read it.
        const decodedMasks = new Map<string, Promise<{ mask: Uint8Array; rect: Rect }>>();
        const maskOf = (id: string): Promise<{ mask: Uint8Array; rect: Rect }> => {
          let decodedMask = decodedMasks.get(id);
          if (!decodedMask) {
            const png = req.masks[id];
            if (!png) return Promise.reject(new Error(`no mask for '${id}'`));
            const mask = arena.take(width * height);
            held.push(mask);
            decodedMask = decodeMask(png).then(async (m) => {
              // Stored at the segmenter's working resolution (or, from older jobs, at the original size).
              if (m.width === width && m.height === height) {
                mask.set(m.data);
                return { mask, rect: { x0: 0, y0: 0, x1: width, y1: height } };
              }
              const rect = await opts.pool.run('upsampleMask', [m.data, m.width, m.height, mask, width, height], signal);
              return { mask, rect };
            });
            decodedMasks.set(id, decodedMask);
          }
          return decodedMask;
        };
        const loadMask = async (id: string, into: Uint8Array): Promise<Rect> => {
          const { mask, rect } = await maskOf(id);
          into.set(mask);
          return rect;
        };
        lap('decodeMs');

        rendered = await renderRule(
          { image: { data: pixels, width, height, channels }, loadMask, protect: req.protect, params: req.params },
          { pool: opts.pool, arena, signal, onStep: call.onStep },
        ).catch((err: unknown) => {
          throw asRenderError(err);
        });
        lap('renderMs');

        step('encode');
        const raw = { raw: { width, height, channels } };
        const view = Buffer.from(rendered.pixels.buffer, rendered.pixels.byteOffset, rendered.pixels.length);
        const format = req.outputFormat ?? 'png';
        // Both encoders read the shared pixels from other threads: neither is abandoned while the other still runs,
        // or the buffers could go back to the arena (the finally below) under a running encode.
        const [encoded, preview] = await Promise.allSettled([
          encodeResult({ data: view, width, height, channels }, format, pngLevelFor(width * height), { headroom: true }),
          sharp(view, raw)
            // Bilinear after libvips' box pre-shrink: ~30 % cheaper than its default Lanczos-3, within 0.3 levels on
            // average for a thumbnail (softer only on the hardest edges).
            .resize(previewSize, previewSize, { fit: 'inside', withoutEnlargement: true, kernel: 'linear' })
            .flatten({ background: '#ffffff' })
            .jpeg({ quality: 82 })
            .toBuffer(),
        ]);
        if (encoded.status === 'rejected') throw encoded.reason;
        if (preview.status === 'rejected') throw preview.reason;
        const [result, previewJpeg] = [encoded.value, preview.value];
        lap('encodeMs');

        step('checks');
        // Measure on the file as written. PNG is lossless (8-bit in, 8-bit out: a test holds libvips to it), so its
        // pixels are the rendered ones; a lossy file is decoded back over the rendered pixels (no longer needed).
        if (format !== 'png') {
          const written = await sharp(result).raw({ depth: 'uchar' }).toBuffer();
          if (written.length !== rendered.pixels.length) throw new Error('the written result does not decode to the rendered layout');
          rendered.pixels.set(written);
        }
        const checks = await measureChecks({
          protectOriginal: rendered.protectOriginal,
          written: rendered.pixels,
          width,
          height,
          channels,
          protectUnion: rendered.protectUnion,
          protectRect: rendered.protectRect,
          params: req.params,
          ids: [...req.concepts, ...req.protect],
          knownCoverage: rendered.coverage,
          regionCounts: rendered.regionCounts,
          maskOf,
          pool: opts.pool,
          signal,
          deltaESamples: opts.deltaESamples,
          protectTolerance: format === 'png' ? 0 : LOSSY_PROTECT_TOLERANCE,
        });
        lap('checksMs');
        return { width, height, result, previewJpeg, checks, timings };
      } finally {
        rendered?.release();
        arena.give(pixelsBuffer, ...held);
      }
    },
  };
}

/**
 * The result file: PNG (lossless), JPEG q92 without chroma subsampling, or WebP q90 (API.md "Output format");
 * `fastPng` tells the fast PNG encoder what it may do with the memory around the pixels.
 */
export function encodeResult(pixels: RawImage, format: OutputFormat, pngLevel: PngLevel, fastPng?: FastPngOptions): Promise<Buffer> {
  if (format === 'png' && pngLevel === 'fast') return encodePngFast(pixels, fastPng);
  const { data, width, height, channels } = pixels;
  const image = sharp(data, { raw: { width, height, channels } });
  switch (format) {
    case 'png':
      return image.png({ compressionLevel: pngLevel as number, adaptiveFiltering: false }).toBuffer();
    // Encoder effort where it buys little: Huffman optimisation costs 3.5× the JPEG encode for ~13 % smaller files,
    // and WebP's effort 2 is ~2.6× faster than its default 4 at the same size on photos (bench/README, item cost).
    case 'jpeg':
      return image.jpeg({ quality: 92, chromaSubsampling: '4:4:4', optimiseCoding: false }).toBuffer();
    case 'webp':
      return image.webp({ quality: 90, effort: 2 }).toBuffer();
  }
}
