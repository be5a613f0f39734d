/**
 * The SAM3 contract fixture in the jamjamjon/usls export_v2 layout: three tiny ONNX graphs with that export's input
 * and output names, element types, ranks and a real dynamic `batch` axis on every tensor, computing the same
 * documented colour rule as the samexporter fixture (sam3Fixture.ts), image by image:
 *
 * - vision encoder: `images` float [batch,3,1008,1008] scaled to -1..1; `fpn_feat_0` carries the pixels back in
 *   0..255 (round((x + 1) × 127.5), exact for every uint8), the other three maps its per-channel means [batch,3,1,1].
 * - text encoder: `text_features` carries the token ids as float [batch,32,1]; `text_mask` = attention_mask > 0.
 * - decoder: reads each image's first content token (position 1) from `text_features`, looks up its reference colour,
 *   and returns one query per image: `pred_masks` logits +10 on every pixel of `fpn_feat_0` within RGB distance ≤ 40
 *   of that colour, −10 elsewhere, at 1008² (the real export: 288²); `pred_logits` logit(0.95) when that mask is
 *   non-empty, else −20; `presence_logits` +20 for a known word, else −20 (so score = 0.95 or ≈ 0); `pred_boxes`
 *   [0,0,1,1] (normalized xyxy) × non-empty. `input_boxes`/`input_boxes_labels` are accepted and ignored.
 */
import { ClipTokenizer } from '../../gpu-activities/tokenizer/clipTokenizer';
import { SAM3_IMAGE_SIZE } from '../../gpu-activities/segmenter/sam3Layout';
import { COLOR_RADIUS, FIXTURE_SCORE, REFERENCE_COLORS, hexToRgb } from './referenceColors';
import { DataType, type GraphDef, type ValueInfo, floatTensor, int64Tensor } from './onnxProto';

const S = SAM3_IMAGE_SIZE;
const B = 'batch';
const POOLED = ['fpn_feat_1', 'fpn_feat_2', 'fpn_pos_2'];

/** The vision encoder graph. */
export function visionEncoderGraph(): GraphDef {
  return {
    name: 'sam3_vision_encoder_usls_v2_fixture',
    inputs: [{ name: 'images', type: DataType.FLOAT, shape: [B, 3, S, S] }],
    outputs: [
      { name: 'fpn_feat_0', type: DataType.FLOAT, shape: [B, 3, S, S] },
      ...POOLED.map((name) => ({ name, type: DataType.FLOAT, shape: [B, 3, 1, 1] })),
    ],
    initializers: [floatTensor([], [1], 'one'), floatTensor([], [127.5], 'half_range')],
    nodes: [
      { op: 'Add', inputs: ['images', 'one'], outputs: ['shifted'] },
      { op: 'Mul', inputs: ['shifted', 'half_range'], outputs: ['scaled'] },
      { op: 'Round', inputs: ['scaled'], outputs: ['fpn_feat_0'] },
      { op: 'ReduceMean', inputs: ['fpn_feat_0'], outputs: ['pooled'], attrs: { axes: [2, 3], keepdims: 1 } },
      ...POOLED.map((name) => ({ op: 'Identity', inputs: ['pooled'], outputs: [name] })),
    ],
  };
}

/** The text encoder graph. */
export function textEncoderGraph(): GraphDef {
  return {
    name: 'sam3_text_encoder_usls_v2_fixture',
    inputs: [
      { name: 'input_ids', type: DataType.INT64, shape: [B, 32] },
      { name: 'attention_mask', type: DataType.INT64, shape: [B, 32] },
    ],
    outputs: [
      { name: 'text_features', type: DataType.FLOAT, shape: [B, 32, 1] },
      { name: 'text_mask', type: DataType.BOOL, shape: [B, 32] },
    ],
    initializers: [int64Tensor([], [0], 'zero'), int64Tensor([1], [2], 'axis2')],
    nodes: [
      { op: 'Cast', inputs: ['input_ids'], outputs: ['ids_f'], attrs: { to: DataType.FLOAT } },
      { op: 'Unsqueeze', inputs: ['ids_f', 'axis2'], outputs: ['text_features'] },
      { op: 'Greater', inputs: ['attention_mask', 'zero'], outputs: ['text_mask'] },
    ],
  };
}

/** The decoder graph; the reference token ids come from the real CLIP tokenizer. */
export function uslsDecoderGraph(tokenizer: ClipTokenizer): GraphDef {
  const words = Object.keys(REFERENCE_COLORS);
  const ids = words.map((w) => Number(tokenizer.tokenize(w)[1]));
  const colors = words.flatMap((w) => hexToRgb(REFERENCE_COLORS[w]));
  const feature = (name: string): ValueInfo => ({ name, type: DataType.FLOAT, shape: [B, `${name}_c`, `${name}_h`, `${name}_w`] });
  const hitLogit = Math.log(FIXTURE_SCORE / (1 - FIXTURE_SCORE));
  return {
    name: 'sam3_decoder_usls_v2_fixture',
    inputs: [
      feature('fpn_feat_0'),
      feature('fpn_feat_1'),
      feature('fpn_feat_2'),
      feature('fpn_pos_2'),
      { name: 'text_features', type: DataType.FLOAT, shape: [B, 32, 'text_dim'] },
      { name: 'text_mask', type: DataType.BOOL, shape: [B, 32] },
      { name: 'input_boxes', type: DataType.FLOAT, shape: [B, 'num_boxes', 4] },
      { name: 'input_boxes_labels', type: DataType.INT64, shape: [B, 'num_boxes'] },
    ],
    outputs: [
      { name: 'pred_masks', type: DataType.FLOAT, shape: [B, 'num_queries', 'mask_h', 'mask_w'] },
      { name: 'pred_boxes', type: DataType.FLOAT, shape: [B, 'num_queries', 4] },
      { name: 'pred_logits', type: DataType.FLOAT, shape: [B, 'num_queries'] },
      { name: 'presence_logits', type: DataType.FLOAT, shape: [B, 1] },
    ],
    initializers: [
      int64Tensor([], [1], 'first_content'),
      int64Tensor([], [0], 'first'),
      int64Tensor([1], [1], 'axis1'),
      int64Tensor([2], [2, 3], 'axes23'),
      int64Tensor([1], [2], 'axis2'),
      floatTensor([ids.length], ids, 'reference_ids'),
      floatTensor([ids.length, 3], colors, 'reference_colors'),
      floatTensor([], [COLOR_RADIUS * COLOR_RADIUS], 'radius_sq'),
      floatTensor([], [0.5], 'half'),
      floatTensor([], [10], 'inside_logit'),
      floatTensor([], [-10], 'outside_logit'),
      floatTensor([], [hitLogit], 'hit_logit'),
      floatTensor([], [-20], 'miss_logit'),
      floatTensor([], [20], 'present_logit'),
      floatTensor([1, 1, 4], [0, 0, 1, 1], 'unit_box'),
    ],
    nodes: [
      // Each image's first content token, as a float [batch, 1].
      { op: 'Gather', inputs: ['text_features', 'first_content'], outputs: ['token_rows'], attrs: { axis: 1 } },
      { op: 'Gather', inputs: ['token_rows', 'first'], outputs: ['tokens'], attrs: { axis: 1 } },
      { op: 'Unsqueeze', inputs: ['tokens', 'axis1'], outputs: ['token_col'] },
      // One-hot over the reference words -> colour [batch, 3, 1, 1] (zeros and found = false for an unknown token).
      { op: 'Equal', inputs: ['token_col', 'reference_ids'], outputs: ['hit'] },
      { op: 'Cast', inputs: ['hit'], outputs: ['one_hot'], attrs: { to: DataType.FLOAT } },
      { op: 'ReduceMax', inputs: ['one_hot'], outputs: ['found_f'], attrs: { axes: [1], keepdims: 1 } },
      { op: 'Greater', inputs: ['found_f', 'half'], outputs: ['found'] },
      { op: 'MatMul', inputs: ['one_hot', 'reference_colors'], outputs: ['color_rows'] },
      { op: 'Unsqueeze', inputs: ['color_rows', 'axes23'], outputs: ['color'] },
      // Squared RGB distance of every pixel to its image's colour.
      { op: 'Sub', inputs: ['fpn_feat_0', 'color'], outputs: ['diff'] },
      { op: 'Mul', inputs: ['diff', 'diff'], outputs: ['diff_sq'] },
      { op: 'ReduceSum', inputs: ['diff_sq', 'axis1'], outputs: ['dist_sq'], attrs: { keepdims: 1 } },
      { op: 'LessOrEqual', inputs: ['dist_sq', 'radius_sq'], outputs: ['near'] },
      { op: 'Unsqueeze', inputs: ['found', 'axes23'], outputs: ['found4'] },
      { op: 'And', inputs: ['near', 'found4'], outputs: ['mask'] },
      { op: 'Where', inputs: ['mask', 'inside_logit', 'outside_logit'], outputs: ['pred_masks'] },
      // Score, presence and box of each image's single query.
      { op: 'Cast', inputs: ['mask'], outputs: ['mask_f'], attrs: { to: DataType.FLOAT } },
      { op: 'ReduceMax', inputs: ['mask_f'], outputs: ['any_f'], attrs: { axes: [2, 3], keepdims: 0 } },
      { op: 'Greater', inputs: ['any_f', 'half'], outputs: ['non_empty'] },
      { op: 'Where', inputs: ['non_empty', 'hit_logit', 'miss_logit'], outputs: ['pred_logits'] },
      { op: 'Where', inputs: ['found', 'present_logit', 'miss_logit'], outputs: ['presence_logits'] },
      { op: 'Unsqueeze', inputs: ['any_f', 'axis2'], outputs: ['any_3d'] },
      { op: 'Mul', inputs: ['unit_box', 'any_3d'], outputs: ['pred_boxes'] },
    ],
  };
}
