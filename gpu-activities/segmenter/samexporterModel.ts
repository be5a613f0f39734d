/**
 * The samexporter / AnyLabeling SAM3 export (`sam3_image_encoder.onnx`, `sam3_language_encoder.onnx`,
 * `sam3_decoder.onnx`): uint8 [3, 1008, 1008] in, six feature maps out, no batch axis; the decoder takes the original
 * size and returns instance masks already at that size (bool or sigmoid probabilities) with their scores.
 */
import * as ort from 'onnxruntime-node';
import type { Detections, EncoderInput, ImageBatch, Sam3Model, Sam3Sessions, TextFeatures } from './sam3Model';
import { SAM3_IMAGE_SIZE } from './sam3Layout';

const IMAGE_FEATURES = [
  'vision_pos_enc_0',
  'vision_pos_enc_1',
  'vision_pos_enc_2',
  'backbone_fpn_0',
  'backbone_fpn_1',
  'backbone_fpn_2',
] as const;

type ImageFeatures = Record<(typeof IMAGE_FEATURES)[number], ort.Tensor>;

interface SamexporterBatch extends ImageBatch {
  images: ImageFeatures[];
}

/** The samexporter layout: one image per encoder call. */
export class SamexporterModel implements Sam3Model {
  readonly layout = 'samexporter' as const;
  readonly maxBatch = 1;
  private readonly imageEncoder: ort.InferenceSession;
  private readonly languageEncoder: ort.InferenceSession;
  private readonly decoder: ort.InferenceSession;

  constructor([imageEncoder, languageEncoder, decoder]: Sam3Sessions) {
    this.imageEncoder = imageEncoder;
    this.languageEncoder = languageEncoder;
    this.decoder = decoder;
  }

  imageInput(planarRgb: Uint8Array): EncoderInput {
    return planarRgb;
  }

  async encodeText(tokens: BigInt64Array): Promise<TextFeatures> {
    const out = await this.languageEncoder.run({ tokens: new ort.Tensor('int64', tokens, [1, tokens.length]) });
    return { language_mask: out.text_attention_mask, language_features: out.text_memory, language_embeds: out.text_embeds };
  }

  async encodeImages(inputs: EncoderInput[]): Promise<SamexporterBatch> {
    const images: ImageFeatures[] = [];
    // No batch axis: one call per image, in order.
    for (const input of inputs) {
      const out = await this.imageEncoder.run({
        image: new ort.Tensor('uint8', input as Uint8Array, [3, SAM3_IMAGE_SIZE, SAM3_IMAGE_SIZE]),
      });
      for (const name of IMAGE_FEATURES) if (!out[name]) throw new Error(`image encoder did not return ${name}`);
      images.push(out as ImageFeatures);
    }
    return { size: images.length, images };
  }

  /**
   * The geometric prompt follows samexporter's convention for "no box": one padded slot (or as many as a fixed-capacity
   * export declares) with zero coords, label 1 and box_masks = true (masked out). Inputs the session does not declare
   * (pruned by onnxsim) are not fed.
   */
  async decode(
    batch: ImageBatch,
    indices: number[],
    text: TextFeatures,
    sizes: { width: number; height: number }[],
  ): Promise<Detections[]> {
    const { images } = batch as SamexporterBatch;
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
    const results: Detections[] = [];
    for (let k = 0; k < indices.length; k++) {
      const feeds: Record<string, ort.Tensor> = {
        original_height: scalar('original_height', sizes[k].height),
        original_width: scalar('original_width', sizes[k].width),
        ...images[indices[k]],
        ...text,
        box_coords: new ort.Tensor('float32', new Float32Array(slots * 4), [slots, 1, 4]),
        box_labels: new ort.Tensor('int64', new BigInt64Array(slots).fill(1n), [slots, 1]),
        box_masks: new ort.Tensor('bool', new Uint8Array(slots).fill(1), [1, slots]),
      };
      const out = await this.decoder.run(Object.fromEntries(Object.entries(feeds).filter(([name]) => declared.has(name))));
      if (!out.scores || !out.masks) throw new Error('decoder did not return scores and masks');
      // [N, 1, H, W] as exported; [N, H, W] tolerated.
      const dims = out.masks.dims;
      const [count, height, width] = dims.length === 4 ? [dims[0], dims[2], dims[3]] : [dims[0], dims[1], dims[2]];
      const data = out.masks.type === 'float32' ? (out.masks.data as Float32Array) : (out.masks.data as Uint8Array);
      results.push({ scores: Float32Array.from(out.scores.data as ArrayLike<number>), masks: { count, height, width, data } });
    }
    return results;
  }
}
