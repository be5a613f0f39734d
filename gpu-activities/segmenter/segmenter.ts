/**
 * Text-prompted segmentation of one original: the image is decoded and resized here (the caller's concurrency), then
 * handed to the dynamic batcher (batcher.ts), which runs the image encoder over up to `maxBatch` images of any caller
 * and the decoder once per prompt over every image of the batch that asked for it; the masks come back with the
 * original's upright aspect at the model's working size (long side ≤ 1008; applyRule upsamples them once). The model is loaded once per process (lazily, or by `warm` at worker start) in whichever
 * layout MODEL_DIR holds (sam3Layout.ts), and the language encoder's output is cached per prompt for the life of the
 * process: a job repeats the same few prompts for every item.
 */
import type { PromptRef } from '../../domain/jobData';
import { ClipTokenizer } from '../tokenizer/clipTokenizer';
import { DEFAULT_IMAGE_LIMITS, classifyDecodeError, inspectImage, openImage, type ImageLimits } from '../../services/image/inputImage';
import { createBatcher, type Batcher, type BatchStats } from './batcher';
import {
  loadSam3Model,
  type Detections,
  type EncoderInput,
  type ExecutionProvider,
  type ModelLog,
  type Sam3Model,
  type TextFeatures,
} from './sam3Model';
import { SAM3_IMAGE_SIZE } from './sam3Layout';
import type { WorkerKernelPool } from '../../services/kernelPool';
import { DEFAULT_POSTPROCESS } from './postprocess';
import { promptMask, type KERNELS as POST_KERNELS } from './postKernels';

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
  /** Most images per encoder call (config GPU_MAX_BATCH; default 1; an export without a batch axis caps it at 1). */
  maxBatch?: number;
  /** How long the first waiting image waits for batchmates, ms (config GPU_BATCH_WAIT_MS; default 5). */
  batchWaitMs?: number;
  /** Called after each model batch (metrics). */
  onBatch?(stats: BatchStats): void;
  /** Where each prompt's post-processing runs (worker threads: postKernels.ts); without one, on the caller's thread. */
  postPool?: WorkerKernelPool<typeof POST_KERNELS>;
}

/** Where the time of one `segment` call went, in milliseconds. */
export interface SegmentTimings {
  preprocessMs: number;
  /** This image's share of its batch's model time. */
  modelMs: number;
  /** Submitted to the batcher -> its batch's results back (waiting + the whole batch's model time). */
  batchMs: number;
  postprocessMs: number;
  /** Images in the batch this one ran in. */
  batchSize: number;
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
  /** Most images per model batch with the loaded export (1 before the model is loaded). */
  maxBatch(): number;
}

/** The size masks are post-processed at: the original's aspect, long side at most the model's input size. */
export function workingSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, SAM3_IMAGE_SIZE / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** One image handed to the batcher: its encoder input, original size and prompts (text features resolved). */
interface BatchItem {
  input: EncoderInput;
  /** The size the decoder is asked for: the image's working size (workingSize). */
  width: number;
  height: number;
  prompts: { id: string; prompt: string; text: TextFeatures }[];
}

/** One image's raw detections per prompt id, and its share of the batch's model time. */
interface BatchResult {
  detections: Map<string, Detections>;
  modelMs: number;
  batchSize: number;
}

/** Runs one batch: one encoder call, then one decoder call per distinct prompt over the images that asked for it. */
async function runModelBatch(model: Sam3Model, items: BatchItem[]): Promise<BatchResult[]> {
  const started = performance.now();
  const batch = await model.encodeImages(items.map((i) => i.input));
  const byPrompt = new Map<string, { text: TextFeatures; asks: { item: number; id: string }[] }>();
  items.forEach((item, k) => {
    for (const p of item.prompts) {
      const group = byPrompt.get(p.prompt) ?? { text: p.text, asks: [] };
      group.asks.push({ item: k, id: p.id });
      byPrompt.set(p.prompt, group);
    }
  });
  const detections = items.map(() => new Map<string, Detections>());
  for (const { text, asks } of byPrompt.values()) {
    const indices = [...new Set(asks.map((a) => a.item))];
    const out = await model.decode(
      batch,
      indices,
      text,
      indices.map((k) => items[k]),
    );
    for (const a of asks) detections[a.item].set(a.id, out[indices.indexOf(a.item)]);
  }
  const modelMs = (performance.now() - started) / items.length;
  return detections.map((d) => ({ detections: d, modelMs, batchSize: items.length }));
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
  type Loaded = { model: Sam3Model; tokenizer: ClipTokenizer; batcher: Batcher<BatchItem, BatchResult> };
  let loading: Promise<Loaded> | undefined;
  let loadedBatch = 1;
  const textCache = new Map<string, Promise<TextFeatures>>();

  function load(): Promise<Loaded> {
    loading ??= loadSam3Model(opts.modelDir, opts.provider ?? 'cpu', log).then((model) => {
      loadedBatch = Math.max(1, Math.min(opts.maxBatch ?? 1, model.maxBatch));
      const batcher = createBatcher<BatchItem, BatchResult>({
        maxBatch: loadedBatch,
        waitMs: opts.batchWaitMs ?? 5,
        run: (items) => runModelBatch(model, items),
        onBatch: opts.onBatch,
      });
      return { model, tokenizer: new ClipTokenizer(), batcher };
    });
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
      // Orientation first (openImage), then both exports' preprocessing: a plain (aspect-ignoring) bilinear resize to
      // 1008×1008 RGB, as samexporter (cv2.INTER_LINEAR) and usls (PIL BILINEAR) do. Transparent pixels on white.
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

    maxBatch: () => loadedBatch,

    async segment(image, prompts, signal) {
      const { model, tokenizer, batcher } = await load();
      throwIfAborted(signal);
      const started = performance.now();
      const { planar, width, height } = await encoderInput(image);
      const input = model.imageInput(planar);
      const unique = prompts.filter((p, i) => prompts.findIndex((q) => q.id === p.id) === i);
      const texts = await Promise.all(unique.map((p) => textFeatures(model, tokenizer, p.prompt)));
      const preprocessMs = performance.now() - started;
      throwIfAborted(signal);
      // The decoder upsamples its low-resolution masks to the size it is given. Asking for the model's working size
      // (long side 1008) instead of the original's keeps instance selection, union and the mask files off 12 MP
      // bitmaps: the GPU worker never touches a full-size mask. applyRule upsamples each mask once, on a CPU worker.
      const out = workingSize(width, height);
      const submitted = performance.now();
      const result = await batcher.submit(
        { input, width: out.width, height: out.height, prompts: unique.map((p, i) => ({ id: p.id, prompt: p.prompt, text: texts[i] })) },
        signal,
      );
      const batchMs = performance.now() - submitted;
      throwIfAborted(signal);
      const postStarted = performance.now();
      const masks = new Map<string, Uint8Array>();
      const coverage = new Map<string, number>();
      const perPrompt = await Promise.all(
        unique.map(async ({ id }) => {
          const { scores, masks: instances } = result.detections.get(id)!;
          const args = [scores, instances, post, out.width, out.height] as const;
          return [id, opts.postPool ? await opts.postPool.run('promptMask', [...args], signal) : promptMask(...args)] as const;
        }),
      );
      for (const [id, r] of perPrompt) {
        masks.set(id, r.mask);
        coverage.set(id, r.coverage);
      }
      const timings: SegmentTimings = {
        preprocessMs,
        modelMs: result.modelMs,
        batchMs,
        postprocessMs: performance.now() - postStarted,
        batchSize: result.batchSize,
      };
      return { width, height, maskWidth: out.width, maskHeight: out.height, masks, coverage, timings };
    },
  };
}
