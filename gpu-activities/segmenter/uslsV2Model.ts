/**
 * The jamjamjon/usls SAM3 export (`scripts/sam3-image/export_v2.py`: `vision-encoder.onnx`, `text-encoder.onnx`,
 * `decoder.onnx`, every input and output with a dynamic `batch` axis):
 *
 * - vision encoder: `images` float32 [batch, 3, 1008, 1008], RGB scaled to -1..1 (x / 127.5 − 1) after a plain
 *   bilinear resize → `fpn_feat_0/1/2` and `fpn_pos_2` (float32, batch first).
 * - text encoder: `input_ids` and `attention_mask` int64 [batch, 32] (CLIP ids padded with `<|endoftext|>` 49407,
 *   mask 1 on `<|startoftext|>` … `<|endoftext|>`) → `text_features` float32 [batch, 32, 256], `text_mask` bool.
 * - decoder: the four feature maps, `text_features`, `text_mask`, `input_boxes` float32 [batch, boxes, 4] and
 *   `input_boxes_labels` int64 [batch, boxes] (−10 = no box) → `pred_masks` float32 [batch, Q, 288, 288] logits,
 *   `pred_boxes`, `pred_logits` [batch, Q], `presence_logits` [batch, 1]. An instance's score is
 *   sigmoid(pred_logit) × sigmoid(presence_logit); its mask is its logits > 0, resized to the original.
 */
import * as ort from 'onnxruntime-node';
import { EOT_TOKEN } from '../tokenizer/clipTokenizer';
import type { Detections, EncoderInput, ImageBatch, Sam3Model, Sam3Sessions, TextFeatures } from './sam3Model';
import { SAM3_IMAGE_SIZE } from './sam3Layout';

const IMAGE_FEATURES = ['fpn_feat_0', 'fpn_feat_1', 'fpn_feat_2', 'fpn_pos_2'] as const;
const PLANE = SAM3_IMAGE_SIZE * SAM3_IMAGE_SIZE;

interface UslsBatch extends ImageBatch {
  features: Record<(typeof IMAGE_FEATURES)[number], ort.Tensor>;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Rows `indices` of a batch-first tensor, as a new tensor (the tensor itself when that is every row in order). */
function rows(t: ort.Tensor, indices: number[]): ort.Tensor {
  if (indices.length === t.dims[0] && indices.every((v, i) => v === i)) return t;
  const per = t.size / t.dims[0];
  const src = t.data as Float32Array | Uint8Array;
  const out = new (src.constructor as Float32ArrayConstructor | Uint8ArrayConstructor)(per * indices.length);
  indices.forEach((r, k) => out.set(src.subarray(r * per, (r + 1) * per), k * per));
  return new ort.Tensor(t.type as 'float32', out as Float32Array, [indices.length, ...t.dims.slice(1)]);
}

/** A [1, ...] tensor repeated `n` times along the batch axis. */
function tiled(t: ort.Tensor, n: number): ort.Tensor {
  return rows(t, new Array<number>(n).fill(0));
}

/** The usls v2 layout: any number of images per call. */
export class UslsV2Model implements Sam3Model {
  readonly layout = 'usls-v2' as const;
  readonly maxBatch = Number.POSITIVE_INFINITY;
  private readonly visionEncoder: ort.InferenceSession;
  private readonly textEncoder: ort.InferenceSession;
  private readonly decoder: ort.InferenceSession;

  constructor([visionEncoder, textEncoder, decoder]: Sam3Sessions) {
    this.visionEncoder = visionEncoder;
    this.textEncoder = textEncoder;
    this.decoder = decoder;
  }

  imageInput(planarRgb: Uint8Array): EncoderInput {
    const out = new Float32Array(planarRgb.length);
    for (let i = 0; i < planarRgb.length; i++) out[i] = planarRgb[i] / 127.5 - 1;
    return out;
  }

  async encodeText(tokens: BigInt64Array): Promise<TextFeatures> {
    // Our tokenizer pads with 0 after <|endoftext|>; the export's tokenizer pads with <|endoftext|> and masks it out.
    let end = tokens.indexOf(BigInt(EOT_TOKEN), 1);
    if (end < 0) end = tokens.length - 1;
    const ids = BigInt64Array.from(tokens, (t, i) => (i > end ? BigInt(EOT_TOKEN) : t));
    const mask = BigInt64Array.from(tokens, (_, i) => (i <= end ? 1n : 0n));
    const out = await this.textEncoder.run({
      input_ids: new ort.Tensor('int64', ids, [1, ids.length]),
      attention_mask: new ort.Tensor('int64', mask, [1, mask.length]),
    });
    if (!out.text_features || !out.text_mask) throw new Error('text encoder did not return text_features and text_mask');
    return { text_features: out.text_features, text_mask: out.text_mask };
  }

  async encodeImages(inputs: EncoderInput[]): Promise<UslsBatch> {
    const images = new Float32Array(inputs.length * 3 * PLANE);
    inputs.forEach((input, k) => images.set(input as Float32Array, k * 3 * PLANE));
    const out = await this.visionEncoder.run({
      images: new ort.Tensor('float32', images, [inputs.length, 3, SAM3_IMAGE_SIZE, SAM3_IMAGE_SIZE]),
    });
    for (const name of IMAGE_FEATURES) if (!out[name]) throw new Error(`vision encoder did not return ${name}`);
    return { size: inputs.length, features: out as UslsBatch['features'] };
  }

  async decode(batch: ImageBatch, indices: number[], text: TextFeatures): Promise<Detections[]> {
    const { features } = batch as UslsBatch;
    const n = indices.length;
    const out = await this.decoder.run({
      ...Object.fromEntries(IMAGE_FEATURES.map((name) => [name, rows(features[name], indices)])),
      text_features: tiled(text.text_features, n),
      text_mask: tiled(text.text_mask, n),
      // A text prompt only: one ignored box per image (label −10), as the export's own inference does.
      input_boxes: new ort.Tensor('float32', new Float32Array(n * 4), [n, 1, 4]),
      input_boxes_labels: new ort.Tensor('int64', new BigInt64Array(n).fill(-10n), [n, 1]),
    });
    const { pred_masks: masks, pred_logits: logits, presence_logits: presence } = out;
    if (!masks || !logits || !presence) throw new Error('decoder did not return pred_masks, pred_logits and presence_logits');
    const [, count, height, width] = masks.dims;
    const maskData = masks.data as Float32Array;
    const logitData = logits.data as Float32Array;
    const presenceData = presence.data as Float32Array;
    return indices.map((_, k) => {
      const present = sigmoid(presenceData[k]);
      const scores = Float32Array.from(logitData.subarray(k * count, (k + 1) * count), (l) => sigmoid(l) * present);
      const plane = height * width;
      const data = maskData.subarray(k * count * plane, (k + 1) * count * plane);
      return { scores, masks: { count, height, width, data, logits: true } };
    });
  }
}
