/**
 * applyRule without storage or Temporal: original + mask PNGs + RuleParams -> result PNG, JPEG preview (≤ 512 px)
 * and the measured checks. The activity wraps this with storage, heartbeats and failure classification; the bench
 * calls it directly.
 */
import sharp from 'sharp';
import type { RuleParams } from '../../domain/ruleParams';
import type { ItemChecks } from '../../domain/jobData';
import { DEFAULT_IMAGE_LIMITS, decodeImage, type ImageLimits } from '../../services/image/inputImage';
import { measureChecks } from './checks';
import type { KernelPool } from './kernelPool';
import { SharedArena } from './sharedArena';
import { decodeMaskInto } from '../../services/image/masks';
import { renderRule, type Rendered } from './render';

/** Engine settings. */
export interface RuleEngineOptions {
  pool: KernelPool;
  limits?: ImageLimits;
  /** zlib level of the result PNG (default 4: most of level 6's size at about half its time on photos). */
  pngCompressionLevel?: number;
  /** Long side of the preview (default 512). */
  previewSize?: number;
  deltaESamples?: number;
  /** Where shared buffers are recycled (default: one arena per engine). */
  arena?: SharedArena;
}

/** One item to render: the encoded original, id -> mask PNG, the rule. */
export interface RuleRequest {
  image: Uint8Array;
  masks: Readonly<Record<string, Uint8Array>>;
  concepts: readonly string[];
  protect: readonly string[];
  params: RuleParams;
}

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
  resultPng: Buffer;
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

// sharp checks its arguments before any work and words every refusal "Expected … for <name> but received …".
function asRenderError(err: unknown): unknown {
  return err instanceof Error && /^Expected .* for \w+ but received /.test(err.message) ? new RuleRenderError(err.message) : err;
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

      const decoded = await decodeImage(req.image, limits);
      const { width, height, channels } = decoded;
      // The original moves to shared memory (recycled across items); the decoder's own buffer becomes garbage at once.
      const original = arena.take(decoded.data.length);
      original.set(decoded.data);
      decoded.data = original;
      const scratch = arena.take(width * height);
      let rendered: Rendered | undefined;
      try {
        const loadMask = async (id: string, into: Uint8Array): Promise<void> => {
          const png = req.masks[id];
          if (!png) throw new Error(`no mask for '${id}'`);
          await decodeMaskInto(png, width, height, into);
        };
        lap('decodeMs');

        rendered = await renderRule(
          { image: decoded, loadMask, protect: req.protect, params: req.params },
          { pool: opts.pool, arena, signal, onStep: call.onStep },
        ).catch((err: unknown) => {
          throw asRenderError(err);
        });
        lap('renderMs');

        step('encode');
        const raw = { raw: { width, height, channels } };
        const view = Buffer.from(rendered.pixels.buffer, rendered.pixels.byteOffset, rendered.pixels.length);
        const [resultPng, previewJpeg] = await Promise.all([
          sharp(view, raw)
            .png({ compressionLevel: opts.pngCompressionLevel ?? 4, adaptiveFiltering: false })
            .toBuffer(),
          sharp(view, raw)
            .resize(previewSize, previewSize, { fit: 'inside', withoutEnlargement: true })
            .flatten({ background: '#ffffff' })
            .jpeg({ quality: 82 })
            .toBuffer(),
        ]);
        lap('encodeMs');

        step('checks');
        // Measure on the file as written: decode it back over the rendered pixels (no longer needed).
        const written = await sharp(resultPng).raw({ depth: 'uchar' }).toBuffer();
        if (written.length !== rendered.pixels.length) throw new Error('the written result does not decode to the rendered layout');
        rendered.pixels.set(written);
        const checks = await measureChecks({
          original,
          written: rendered.pixels,
          width,
          height,
          channels,
          protectUnion: rendered.protectUnion,
          params: req.params,
          ids: [...req.concepts, ...req.protect],
          knownCoverage: rendered.coverage,
          loadMask,
          scratch,
          pool: opts.pool,
          signal,
          deltaESamples: opts.deltaESamples,
        });
        lap('checksMs');
        return { width, height, resultPng, previewJpeg, checks, timings };
      } finally {
        rendered?.release();
        arena.give(original, scratch);
      }
    },
  };
}
