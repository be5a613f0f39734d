/**
 * A SAM3 ONNX export on onnxruntime-node, whichever layout MODEL_DIR holds (sam3Layout.ts): one interface that
 * encodes a batch of images and decodes one prompt over any of them. samexporterModel.ts and uslsV2Model.ts carry each
 * layout's tensor names, dtypes and conventions. Nothing here knows whether the files are the real model or the
 * contract fixture.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { InstanceMasks } from './postprocess';
import { detectSam3Layout, SAM3_LAYOUT_FILES, type Sam3LayoutName } from './sam3Layout';
// The layout modules import only types from this one: no cycle at run time.
import { SamexporterModel } from './samexporterModel';
import { UslsV2Model } from './uslsV2Model';

/** Where to run: the config's ORT_EXECUTION_PROVIDER. */
export type ExecutionProvider = 'cpu' | 'cuda';

/** The logger subset the model needs (pino's and the console's shape). */
export interface ModelLog {
  info(msg: string): void;
  warn(msg: string): void;
}

/** One image as the layout's encoder takes it (uint8 0..255 or normalized float), planar [3, 1008, 1008]. */
export type EncoderInput = Uint8Array | Float32Array;

/** The encoder's features of the images of one `encodeImages` call (layout-specific tensors). */
export interface ImageBatch {
  readonly size: number;
}

/** The language encoder's outputs for one prompt (layout-specific tensors). */
export type TextFeatures = Record<string, ort.Tensor>;

/** Raw decoder detections for one image and one prompt. */
export interface Detections {
  /** [N] scores in 0..1. */
  scores: Float32Array;
  /** [N] instance masks at the export's mask resolution. */
  masks: InstanceMasks;
}

/** A loaded SAM3 export; share one per process. */
export interface Sam3Model {
  readonly layout: Sam3LayoutName;
  /** Most images one `encodeImages` call takes at once (1: the export has no batch axis). */
  readonly maxBatch: number;
  /** The encoder input of one image from planar RGB uint8 [3, 1008, 1008] (the layout's normalization). */
  imageInput(planarRgb: Uint8Array): EncoderInput;
  /** Runs the language encoder on CLIP token ids (`<|startoftext|>` … `<|endoftext|>`, zero padding), length 32. */
  encodeText(tokens: BigInt64Array): Promise<TextFeatures>;
  /** Runs the image encoder on up to `maxBatch` images. */
  encodeImages(inputs: EncoderInput[]): Promise<ImageBatch>;
  /** Decodes one prompt over the images `indices` of `batch`, whose originals are `sizes`; one result per index. */
  decode(batch: ImageBatch, indices: number[], text: TextFeatures, sizes: { width: number; height: number }[]): Promise<Detections[]>;
}

/** Thrown when the model cannot be loaded (missing files, bad graph): retryable, a worker restart may fix it. */
export class ModelLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelLoadError';
  }
}

/** Creates one session on `provider`, falling back to CPU with a log line when CUDA is unavailable. */
export async function createSession(
  path: string,
  provider: ExecutionProvider,
  log: ModelLog,
): Promise<{ session: ort.InferenceSession; used: ExecutionProvider }> {
  if (!existsSync(path)) {
    throw new ModelLoadError(`model file not found: ${path} (point MODEL_DIR at a SAM3 export, or run npm run model:fixture -- DIR)`);
  }
  if (provider === 'cuda') {
    try {
      // ORT's own error log for a missing CUDA library is noise here: the fallback below logs one clear line.
      return {
        session: await ort.InferenceSession.create(path, { executionProviders: ['cuda', 'cpu'], logSeverityLevel: 4 }),
        used: 'cuda',
      };
    } catch (err) {
      // A CPU build of onnxruntime-node (ONNXRUNTIME_NODE_INSTALL not set) or a host without a GPU: keep serving on CPU.
      log.warn(`CUDA execution provider unavailable for ${path} (${(err as Error).message}); falling back to CPU`);
    }
  }
  return { session: await ort.InferenceSession.create(path, { executionProviders: ['cpu'] }), used: 'cpu' };
}

/** The three sessions of a layout, in file order (image encoder, language encoder, decoder). */
export type Sam3Sessions = [ort.InferenceSession, ort.InferenceSession, ort.InferenceSession];

/** Loads `modelDir/sam3/*.onnx` in whichever layout is there (throws ModelLoadError). */
export async function loadSam3Model(modelDir: string, provider: ExecutionProvider = 'cpu', log: ModelLog = console): Promise<Sam3Model> {
  const dir = join(modelDir, 'sam3');
  const layout = detectSam3Layout(modelDir);
  if (!layout) {
    const expected = Object.entries(SAM3_LAYOUT_FILES)
      .map(([name, files]) => `${name}: ${Object.values(files).join(', ')}`)
      .join('; or ');
    throw new ModelLoadError(
      `model file not found: no complete SAM3 export in ${dir} (expected ${expected}; point MODEL_DIR at a SAM3 export, or run npm run model:fixture -- DIR)`,
    );
  }
  const files = SAM3_LAYOUT_FILES[layout];
  try {
    const opened = await Promise.all(
      [files.imageEncoder, files.languageEncoder, files.decoder].map((f) => createSession(join(dir, f), provider, log)),
    );
    log.info(`SAM3 model (${layout} layout) loaded from ${dir} on ${opened.map((s) => s.used).join('/')}`);
    const sessions = opened.map((s) => s.session) as Sam3Sessions;
    return layout === 'usls-v2' ? new UslsV2Model(sessions) : new SamexporterModel(sessions);
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(`could not load the SAM3 model from ${dir}: ${(err as Error).message}`, { cause: err });
  }
}
