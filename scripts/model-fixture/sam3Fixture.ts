/**
 * The SAM3 contract-fixture model: three tiny ONNX graphs with exactly the input/output names, element types and
 * ranks of the public SAM3 ONNX export (samexporter layout), computing a documented colour rule instead of SAM3:
 *
 * - image encoder: `backbone_fpn_0` carries the 1008×1008 RGB input as float [1,3,1008,1008] (no normalization);
 *   the other five feature maps are its per-channel means [1,3,1,1] (the real ones are 256-channel maps).
 * - language encoder: `text_attention_mask` = tokens == 0 (padding, the export's polarity); `text_memory` and
 *   `text_embeds` carry the token ids as float [32,1,1].
 * - decoder: reads the first content token (position 1, after `<|startoftext|>`) from `language_features`, looks up
 *   its reference colour (referenceColors.ts), and returns one instance: the mask is every encoder-input pixel within
 *   RGB distance ≤ 40 of that colour, resized (nearest, half-pixel centres) to original_height × original_width;
 *   score 0.95 when that mask is non-empty, else 0; box [0, 0, W, H] (× non-empty). An unknown token matches nothing.
 *   The geometric prompt inputs (box_coords/box_labels/box_masks) are accepted and ignored.
 */
import { ClipTokenizer } from '../../gpu-activities/tokenizer/clipTokenizer';
import { SAM3_IMAGE_SIZE } from '../../gpu-activities/segmenter/sam3Layout';
import { COLOR_RADIUS, FIXTURE_SCORE, REFERENCE_COLORS, hexToRgb } from './referenceColors';
import { DataType, type GraphDef, type ValueInfo, floatTensor, int64Tensor } from './onnxProto';

const S = SAM3_IMAGE_SIZE;
const IMAGE_OUTPUTS = ['vision_pos_enc_0', 'vision_pos_enc_1', 'vision_pos_enc_2', 'backbone_fpn_0', 'backbone_fpn_1', 'backbone_fpn_2'];

/** The image encoder graph. */
export function imageEncoderGraph(): GraphDef {
  const pooled = IMAGE_OUTPUTS.filter((n) => n !== 'backbone_fpn_0');
  return {
    name: 'sam3_image_encoder_fixture',
    inputs: [{ name: 'image', type: DataType.UINT8, shape: [3, S, S] }],
    outputs: IMAGE_OUTPUTS.map((name) => ({
      name,
      type: DataType.FLOAT,
      shape: name === 'backbone_fpn_0' ? [1, 3, S, S] : [1, 3, 1, 1],
    })),
    initializers: [int64Tensor([1], [0], 'axis0')],
    nodes: [
      { op: 'Cast', inputs: ['image'], outputs: ['image_f'], attrs: { to: DataType.FLOAT } },
      { op: 'Unsqueeze', inputs: ['image_f', 'axis0'], outputs: ['backbone_fpn_0'] },
      { op: 'ReduceMean', inputs: ['backbone_fpn_0'], outputs: ['pooled'], attrs: { axes: [2, 3], keepdims: 1 } },
      ...pooled.map((name) => ({ op: 'Identity', inputs: ['pooled'], outputs: [name] })),
    ],
  };
}

/** The language encoder graph. */
export function languageEncoderGraph(): GraphDef {
  return {
    name: 'sam3_language_encoder_fixture',
    inputs: [{ name: 'tokens', type: DataType.INT64, shape: [1, 32] }],
    outputs: [
      { name: 'text_attention_mask', type: DataType.BOOL, shape: [1, 32] },
      { name: 'text_memory', type: DataType.FLOAT, shape: [32, 1, 1] },
      { name: 'text_embeds', type: DataType.FLOAT, shape: [32, 1, 1] },
    ],
    initializers: [int64Tensor([], [0], 'zero'), int64Tensor([1], [2], 'axis2')],
    nodes: [
      { op: 'Equal', inputs: ['tokens', 'zero'], outputs: ['text_attention_mask'] },
      { op: 'Cast', inputs: ['tokens'], outputs: ['tokens_f'], attrs: { to: DataType.FLOAT } },
      { op: 'Transpose', inputs: ['tokens_f'], outputs: ['tokens_t'], attrs: { perm: [1, 0] } },
      { op: 'Unsqueeze', inputs: ['tokens_t', 'axis2'], outputs: ['text_memory'] },
      { op: 'Identity', inputs: ['text_memory'], outputs: ['text_embeds'] },
    ],
  };
}

/** The decoder graph; the reference token ids come from the real CLIP tokenizer. */
export function decoderGraph(tokenizer: ClipTokenizer): GraphDef {
  const words = Object.keys(REFERENCE_COLORS);
  const ids = words.map((w) => Number(tokenizer.tokenize(w)[1]));
  const colors = words.flatMap((w) => hexToRgb(REFERENCE_COLORS[w]));
  const feature = (name: string, c: string): ValueInfo => ({ name, type: DataType.FLOAT, shape: [1, `${c}_c`, `${c}_h`, `${c}_w`] });
  return {
    name: 'sam3_decoder_fixture',
    inputs: [
      { name: 'original_height', type: DataType.INT64, shape: [] },
      { name: 'original_width', type: DataType.INT64, shape: [] },
      feature('vision_pos_enc_0', 'pos0'),
      feature('vision_pos_enc_1', 'pos1'),
      feature('vision_pos_enc_2', 'pos2'),
      { name: 'backbone_fpn_0', type: DataType.FLOAT, shape: [1, 3, S, S] },
      feature('backbone_fpn_1', 'fpn1'),
      feature('backbone_fpn_2', 'fpn2'),
      { name: 'language_mask', type: DataType.BOOL, shape: [1, 32] },
      { name: 'language_features', type: DataType.FLOAT, shape: [32, 1, 'text_dim'] },
      { name: 'language_embeds', type: DataType.FLOAT, shape: [32, 1, 'embed_dim'] },
      { name: 'box_coords', type: DataType.FLOAT, shape: ['num_boxes', 1, 4] },
      { name: 'box_labels', type: DataType.INT64, shape: ['num_boxes', 1] },
      { name: 'box_masks', type: DataType.BOOL, shape: [1, 'num_boxes'] },
    ],
    outputs: [
      { name: 'boxes', type: DataType.FLOAT, shape: ['num_detections', 4] },
      { name: 'scores', type: DataType.FLOAT, shape: ['num_detections'] },
      { name: 'masks', type: DataType.BOOL, shape: ['num_detections', 1, 'original_height', 'original_width'] },
    ],
    initializers: [
      int64Tensor([], [1], 'first_content'),
      int64Tensor([], [0], 'first'),
      int64Tensor([1], [-1], 'flat_shape'),
      int64Tensor([1], [0], 'axis0'),
      int64Tensor([1], [1], 'axis1'),
      int64Tensor([4], [1, 3, 1, 1], 'color_shape'),
      int64Tensor([2], [1, 1], 'batch_channel'),
      floatTensor([ids.length], ids, 'reference_ids'),
      floatTensor([ids.length, 3], colors, 'reference_colors'),
      floatTensor([], [COLOR_RADIUS * COLOR_RADIUS], 'radius_sq'),
      floatTensor([], [0.5], 'half'),
      floatTensor([1], [FIXTURE_SCORE], 'score_hit'),
      floatTensor([1], [0], 'score_miss'),
      floatTensor([2], [0, 0], 'box_origin'),
    ],
    nodes: [
      // The prompt's first content token, as a float scalar.
      { op: 'Gather', inputs: ['language_features', 'first_content'], outputs: ['token_row'], attrs: { axis: 0 } },
      { op: 'Reshape', inputs: ['token_row', 'flat_shape'], outputs: ['token_flat'] },
      { op: 'Gather', inputs: ['token_flat', 'first'], outputs: ['token'], attrs: { axis: 0 } },
      // One-hot over the reference words -> colour (all zeros and found = 0 for an unknown token).
      { op: 'Equal', inputs: ['reference_ids', 'token'], outputs: ['hit'] },
      { op: 'Cast', inputs: ['hit'], outputs: ['one_hot'], attrs: { to: DataType.FLOAT } },
      { op: 'ReduceMax', inputs: ['one_hot'], outputs: ['found_f'], attrs: { keepdims: 0 } },
      { op: 'Greater', inputs: ['found_f', 'half'], outputs: ['found'] },
      { op: 'Unsqueeze', inputs: ['one_hot', 'axis0'], outputs: ['one_hot_row'] },
      { op: 'MatMul', inputs: ['one_hot_row', 'reference_colors'], outputs: ['color_row'] },
      { op: 'Reshape', inputs: ['color_row', 'color_shape'], outputs: ['color'] },
      // Squared RGB distance of every encoder-input pixel to the colour.
      { op: 'Sub', inputs: ['backbone_fpn_0', 'color'], outputs: ['diff'] },
      { op: 'Mul', inputs: ['diff', 'diff'], outputs: ['diff_sq'] },
      { op: 'ReduceSum', inputs: ['diff_sq', 'axis1'], outputs: ['dist_sq'], attrs: { keepdims: 1 } },
      { op: 'LessOrEqual', inputs: ['dist_sq', 'radius_sq'], outputs: ['near'] },
      { op: 'And', inputs: ['near', 'found'], outputs: ['mask_small'] },
      { op: 'Cast', inputs: ['mask_small'], outputs: ['mask_small_u8'], attrs: { to: DataType.UINT8 } },
      // Nearest resize to the original size.
      { op: 'Unsqueeze', inputs: ['original_height', 'axis0'], outputs: ['height_1'] },
      { op: 'Unsqueeze', inputs: ['original_width', 'axis0'], outputs: ['width_1'] },
      { op: 'Concat', inputs: ['batch_channel', 'height_1', 'width_1'], outputs: ['sizes'], attrs: { axis: 0 } },
      {
        op: 'Resize',
        inputs: ['mask_small_u8', '', '', 'sizes'],
        outputs: ['mask_u8'],
        attrs: { mode: 'nearest', coordinate_transformation_mode: 'half_pixel', nearest_mode: 'round_prefer_floor' },
      },
      { op: 'Cast', inputs: ['mask_u8'], outputs: ['masks'], attrs: { to: DataType.BOOL } },
      // Score and box of the single instance.
      { op: 'ReduceMax', inputs: ['mask_u8'], outputs: ['any_u8'], attrs: { keepdims: 0 } },
      { op: 'Cast', inputs: ['any_u8'], outputs: ['non_empty'], attrs: { to: DataType.BOOL } },
      { op: 'Where', inputs: ['non_empty', 'score_hit', 'score_miss'], outputs: ['scores'] },
      { op: 'Cast', inputs: ['non_empty'], outputs: ['non_empty_f'], attrs: { to: DataType.FLOAT } },
      { op: 'Cast', inputs: ['width_1'], outputs: ['width_f'], attrs: { to: DataType.FLOAT } },
      { op: 'Cast', inputs: ['height_1'], outputs: ['height_f'], attrs: { to: DataType.FLOAT } },
      { op: 'Concat', inputs: ['box_origin', 'width_f', 'height_f'], outputs: ['box'], attrs: { axis: 0 } },
      { op: 'Mul', inputs: ['box', 'non_empty_f'], outputs: ['box_scaled'] },
      { op: 'Unsqueeze', inputs: ['box_scaled', 'axis0'], outputs: ['boxes'] },
    ],
  };
}
