/**
 * The SAM3 ONNX export (samexporter / AnyLabeling three-file layout) on onnxruntime-node: load the sessions, run the
 * image encoder, the language encoder and the decoder with the export's tensor names and dtypes. Nothing here knows
 * whether the files are the real model or the contract fixture.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { SAM3_FILE_NAMES, SAM3_IMAGE_SIZE } from './sam3Layout';

const IMAGE_FEATURES = [
  'vision_pos_enc_0',
  'vision_pos_enc_1',
  'vision_pos_enc_2',
  'backbone_fpn_0',
  'backbone_fpn_1',
  'backbone_fpn_2',
] as const;

/** Where to run: the config's ORT_EXECUTION_PROVIDER. */
export type ExecutionProvider = 'cpu' | 'cuda';

/** The logger subset the model needs (pino's and the console's shape). */
export interface ModelLog {
  info(msg: string): void;
  warn(msg: string): void;
}

/** The six image feature maps of one image, as the encoder returned them. */
export type ImageFeatures = Record<(typeof IMAGE_FEATURES)[number], ort.Tensor>;

/** The language encoder's outputs for one prompt. */
export interface TextFeatures {
  mask: ort.Tensor;
  features: ort.Tensor;
  embeds: ort.Tensor;
}

/** Raw decoder detections: N instances. */
export interface Detections {
  /** [N] scores. */
  scores: Float32Array;
  /** [N, 1, H, W] masks (bool/uint8 as 0/1, or float probabilities). */
  masks: ort.Tensor;
}

/** Thrown when the model cannot be loaded (missing files, bad graph): retryable, a worker restart may fix it. */
export class ModelLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelLoadError';
  }
}

async function createSession(
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

/** Three loaded SAM3 sessions; create with `loadSam3Model`, share one per process. */
export class Sam3Model {
  private constructor(
    private readonly imageEncoder: ort.InferenceSession,
    private readonly languageEncoder: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
  ) {}

  /** Loads `modelDir/sam3/*.onnx` (throws ModelLoadError). */
  static async load(modelDir: string, provider: ExecutionProvider = 'cpu', log: ModelLog = console): Promise<Sam3Model> {
    const dir = join(modelDir, 'sam3');
    try {
      const [img, lang, dec] = await Promise.all([
        createSession(join(dir, SAM3_FILE_NAMES.imageEncoder), provider, log),
        createSession(join(dir, SAM3_FILE_NAMES.languageEncoder), provider, log),
        createSession(join(dir, SAM3_FILE_NAMES.decoder), provider, log),
      ]);
      log.info(`SAM3 model loaded from ${dir} on ${[img, lang, dec].map((s) => s.used).join('/')}`);
      return new Sam3Model(img.session, lang.session, dec.session);
    } catch (err) {
      if (err instanceof ModelLoadError) throw err;
      throw new ModelLoadError(`could not load the SAM3 model from ${dir}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Runs the image encoder on a planar uint8 RGB [3, 1008, 1008] image. */
  async encodeImage(planarRgb: Uint8Array): Promise<ImageFeatures> {
    const out = await this.imageEncoder.run({ image: new ort.Tensor('uint8', planarRgb, [3, SAM3_IMAGE_SIZE, SAM3_IMAGE_SIZE]) });
    for (const name of IMAGE_FEATURES) if (!out[name]) throw new Error(`image encoder did not return ${name}`);
    return out as ImageFeatures;
  }

  /** Runs the language encoder on CLIP token ids int64 [1, 32]. */
  async encodeText(tokens: BigInt64Array): Promise<TextFeatures> {
    const out = await this.languageEncoder.run({ tokens: new ort.Tensor('int64', tokens, [1, tokens.length]) });
    return { mask: out.text_attention_mask, features: out.text_memory, embeds: out.text_embeds };
  }

  /**
   * Runs the decoder for a text prompt. The geometric prompt follows samexporter's convention for "no box": one
   * padded slot (or as many as a fixed-capacity export declares) with zero coords, label 1 and box_masks = true
   * (masked out). Inputs the session does not declare (pruned by onnxsim) are not fed.
   */
  async decode(image: ImageFeatures, text: TextFeatures, height: number, width: number): Promise<Detections> {
    const declared = new Map(this.decoder.inputMetadata.map((m) => [m.name, m]));
    const boxMeta = declared.get('box_coords');
    const fixed = boxMeta?.isTensor ? boxMeta.shape[0] : undefined;
    const slots = typeof fixed === 'number' && fixed > 0 ? fixed : 1;
    const sizeType = (name: string): 'int64' | 'int32' => {
      const m = declared.get(name);
      return m?.isTensor && m.type === 'int32' ? 'int32' : 'int64';
    };
    const scalar = (name: string, v: number): ort.Tensor =>
      sizeType(name) === 'int32'
        ? new ort.Tensor('int32', Int32Array.from([v]), [])
        : new ort.Tensor('int64', BigInt64Array.from([BigInt(v)]), []);
    const feeds: Record<string, ort.Tensor> = {
      original_height: scalar('original_height', height),
      original_width: scalar('original_width', width),
      ...image,
      language_mask: text.mask,
      language_features: text.features,
      language_embeds: text.embeds,
      box_coords: new ort.Tensor('float32', new Float32Array(slots * 4), [slots, 1, 4]),
      box_labels: new ort.Tensor('int64', new BigInt64Array(slots).fill(1n), [slots, 1]),
      box_masks: new ort.Tensor('bool', new Uint8Array(slots).fill(1), [1, slots]),
    };
    const out = await this.decoder.run(Object.fromEntries(Object.entries(feeds).filter(([k]) => declared.has(k))));
    if (!out.scores || !out.masks) throw new Error('decoder did not return scores and masks');
    return { scores: Float32Array.from(out.scores.data as ArrayLike<number>), masks: out.masks };
  }
}
