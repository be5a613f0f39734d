/**
 * Text-prompted segmentation of one original: one image encode, one decode per prompt, one 8-bit mask per prompt at
 * the original's upright size. The model is loaded once per process (lazily, or by `warm` at worker start) and the
 * language encoder's output is cached per prompt for the life of the process: a job repeats the same few prompts
 * for every item.
 */
import type { PromptRef } from '../../domain/jobData';
import { ClipTokenizer } from '../tokenizer/clipTokenizer';
import { DEFAULT_IMAGE_LIMITS, classifyDecodeError, inspectImage, openImage, type ImageLimits } from '../../services/image/inputImage';
import { Sam3Model, type ExecutionProvider, type ModelLog, type TextFeatures } from './sam3Model';
import { SAM3_IMAGE_SIZE } from './sam3Layout';
import { resampleMask } from '../../services/image/maskResample';
import { DEFAULT_POSTPROCESS, maskCoverage, selectInstances, unionMask, type InstanceMasks } from './postprocess';

/** How to build a segmenter. */
export interface SegmenterOptions {
  modelDir: string;
  provider?: ExecutionProvider;
  /** Keep instances scoring above this (config SEGMENT_SCORE_THRESHOLD). */
  scoreThreshold?: number;
  nmsIou?: number;
  limits?: ImageLimits;
  log?: ModelLog;
  /** Most prompts whose text features are kept (presets have about twenty). */
  textCacheSize?: number;
}

/** Where the time of one `segment` call went, in milliseconds. */
export interface SegmentTimings {
  preprocessMs: number;
  modelMs: number;
  postprocessMs: number;
}

/** Masks of one image: prompt id -> 8-bit mask (255 inside), row-major, maskWidth × maskHeight. */
export interface Segmentation {
  /** The original's upright size. */
  width: number;
  height: number;
  /** The masks' size: the original's aspect at the model's working resolution (long side ≤ 1008). */
  maskWidth: number;
  maskHeight: number;
  masks: Map<string, Uint8Array>;
  /** Prompt id -> fraction of the image the mask covers (0 when nothing was found). */
  coverage: Map<string, number>;
  timings: SegmentTimings;
}

/** The segmentation service the activities use. */
export interface Segmenter {
  /** Loads the model (and tokenizer) now; the worker calls this before polling. */
  warm(): Promise<void>;
  /** Segments one encoded original for each prompt; throws ItemImageError for a bad image. */
  segment(image: Uint8Array, prompts: PromptRef[], signal?: AbortSignal): Promise<Segmentation>;
}

/** The size masks are post-processed at: the original's aspect, long side at most the model's input size. */
export function workingSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, SAM3_IMAGE_SIZE / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** Creates the SAM3 segmenter. */
export function createSegmenter(opts: SegmenterOptions): Segmenter {
  const log = opts.log ?? console;
  const limits = opts.limits ?? DEFAULT_IMAGE_LIMITS;
  const post = {
    scoreThreshold: opts.scoreThreshold ?? DEFAULT_POSTPROCESS.scoreThreshold,
    nmsIou: opts.nmsIou ?? DEFAULT_POSTPROCESS.nmsIou,
  };
  const cacheSize = opts.textCacheSize ?? 256;
  let loading: Promise<{ model: Sam3Model; tokenizer: ClipTokenizer }> | undefined;
  const textCache = new Map<string, Promise<TextFeatures>>();

  function load(): Promise<{ model: Sam3Model; tokenizer: ClipTokenizer }> {
    loading ??= Sam3Model.load(opts.modelDir, opts.provider ?? 'cpu', log).then((model) => ({ model, tokenizer: new ClipTokenizer() }));
    // A failed load is not cached: the activity fails retryably and the next attempt loads again.
    loading.catch(() => (loading = undefined));
    return loading;
  }

  function textFeatures(model: Sam3Model, tokenizer: ClipTokenizer, prompt: string): Promise<TextFeatures> {
    let cached = textCache.get(prompt);
    if (!cached) {
      if (textCache.size >= cacheSize) textCache.delete(textCache.keys().next().value!);
      cached = model.encodeText(tokenizer.tokenize(prompt));
      cached.catch(() => textCache.delete(prompt));
      textCache.set(prompt, cached);
    }
    return cached;
  }

  async function encoderInput(image: Uint8Array): Promise<{ planar: Uint8Array; width: number; height: number }> {
    const info = await inspectImage(image, limits);
    let rgb: Buffer;
    try {
      // Orientation first (openImage), then the export's preprocessing: a plain (aspect-ignoring) bilinear resize to
      // 1008×1008 RGB, as samexporter does with cv2.INTER_LINEAR. Transparent pixels are shown on white.
      rgb = await openImage(image, limits)
        .flatten({ background: '#ffffff' })
        .resize(SAM3_IMAGE_SIZE, SAM3_IMAGE_SIZE, { fit: 'fill', kernel: 'linear' })
        .toColourspace('srgb')
        .removeAlpha()
        .raw({ depth: 'uchar' })
        .toBuffer();
    } catch (err) {
      throw classifyDecodeError(err);
    }
    const plane = SAM3_IMAGE_SIZE * SAM3_IMAGE_SIZE;
    const planar = new Uint8Array(3 * plane);
    for (let i = 0, p = 0; i < plane; i++, p += 3) {
      planar[i] = rgb[p];
      planar[plane + i] = rgb[p + 1];
      planar[2 * plane + i] = rgb[p + 2];
    }
    return { planar, width: info.width, height: info.height };
  }

  return {
    async warm() {
      await load();
    },

    async segment(image, prompts, signal) {
      const { model, tokenizer } = await load();
      throwIfAborted(signal);
      let t = performance.now();
      const timings: SegmentTimings = { preprocessMs: 0, modelMs: 0, postprocessMs: 0 };
      const lap = (key: keyof SegmentTimings): void => {
        const now = performance.now();
        timings[key] += now - t;
        t = now;
      };
      const { planar, width, height } = await encoderInput(image);
      lap('preprocessMs');
      throwIfAborted(signal);
      const features = await model.encodeImage(planar);
      lap('modelMs');
      const masks = new Map<string, Uint8Array>();
      const coverage = new Map<string, number>();
      // The decoder upsamples its low-resolution masks to the size it is given. Asking for the model's working size
      // (long side 1008) instead of the original's keeps instance selection, union and the mask files off 12 MP
      // bitmaps: the GPU worker never touches a full-size mask. applyRule upsamples each mask once, on a CPU worker.
      const out = workingSize(width, height);
      for (const { id, prompt } of prompts) {
        if (masks.has(id)) continue;
        throwIfAborted(signal);
        const text = await textFeatures(model, tokenizer, prompt);
        const det = await model.decode(features, text, out.height, out.width);
        lap('modelMs');
        // [N, 1, H, W] as exported; [N, H, W] tolerated.
        const dims = det.masks.dims;
        const [count, mh, mw] = dims.length === 4 ? [dims[0], dims[2], dims[3]] : [dims[0], dims[1], dims[2]];
        const instances: InstanceMasks = {
          count,
          height: mh,
          width: mw,
          data: det.masks.type === 'float32' ? (det.masks.data as Float32Array) : (det.masks.data as Uint8Array),
        };
        const keep = selectInstances(det.scores, instances, post);
        const union = unionMask(instances, keep);
        // Every mask of one image has the working size (an export that ignores the requested size is resampled).
        const mask = mw === out.width && mh === out.height ? union.mask : resampleMask(union.mask, mw, mh, out.width, out.height);
        masks.set(id, mask);
        coverage.set(id, maskCoverage(mask));
        lap('postprocessMs');
      }
      return { width, height, maskWidth: out.width, maskHeight: out.height, masks, coverage, timings };
    },
  };
}
