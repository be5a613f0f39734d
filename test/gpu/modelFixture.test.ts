/**
 * The contract-fixture model: its three files carry exactly the SAM3 export's tensor names, element types and ranks
 * (checked by loading them in onnxruntime, not by reading our own generator), generation is deterministic and quick,
 * and the decoder computes the documented colour rule.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ensureModelFixture, sam3Paths, writeModelFixture } from '../../scripts/model-fixture/generate';
import { detectSam3Layout } from '../../gpu-activities/segmenter/sam3Layout';
import { ClipTokenizer } from '../../gpu-activities/tokenizer/clipTokenizer';

type Io = [name: string, type: string, rank: number];

// The public SAM3 ONNX export (samexporter / AnyLabeling layout), in session order.
const CONTRACT: Record<'imageEncoder' | 'languageEncoder' | 'decoder', { inputs: Io[]; outputs: Io[] }> = {
  imageEncoder: {
    inputs: [['image', 'uint8', 3]],
    outputs: [
      ['vision_pos_enc_0', 'float32', 4],
      ['vision_pos_enc_1', 'float32', 4],
      ['vision_pos_enc_2', 'float32', 4],
      ['backbone_fpn_0', 'float32', 4],
      ['backbone_fpn_1', 'float32', 4],
      ['backbone_fpn_2', 'float32', 4],
    ],
  },
  languageEncoder: {
    inputs: [['tokens', 'int64', 2]],
    outputs: [
      ['text_attention_mask', 'bool', 2],
      ['text_memory', 'float32', 3],
      ['text_embeds', 'float32', 3],
    ],
  },
  decoder: {
    inputs: [
      ['original_height', 'int64', 0],
      ['original_width', 'int64', 0],
      ['vision_pos_enc_0', 'float32', 4],
      ['vision_pos_enc_1', 'float32', 4],
      ['vision_pos_enc_2', 'float32', 4],
      ['backbone_fpn_0', 'float32', 4],
      ['backbone_fpn_1', 'float32', 4],
      ['backbone_fpn_2', 'float32', 4],
      ['language_mask', 'bool', 2],
      ['language_features', 'float32', 3],
      ['language_embeds', 'float32', 3],
      ['box_coords', 'float32', 3],
      ['box_labels', 'int64', 2],
      ['box_masks', 'bool', 2],
    ],
    outputs: [
      ['boxes', 'float32', 2],
      ['scores', 'float32', 1],
      ['masks', 'bool', 4],
    ],
  },
};

// jamjamjon/usls scripts/sam3-image/export_v2.py, in session order.
const USLS_CONTRACT: typeof CONTRACT = {
  imageEncoder: {
    inputs: [['images', 'float32', 4]],
    outputs: [
      ['fpn_feat_0', 'float32', 4],
      ['fpn_feat_1', 'float32', 4],
      ['fpn_feat_2', 'float32', 4],
      ['fpn_pos_2', 'float32', 4],
    ],
  },
  languageEncoder: {
    inputs: [
      ['input_ids', 'int64', 2],
      ['attention_mask', 'int64', 2],
    ],
    outputs: [
      ['text_features', 'float32', 3],
      ['text_mask', 'bool', 2],
    ],
  },
  decoder: {
    inputs: [
      ['fpn_feat_0', 'float32', 4],
      ['fpn_feat_1', 'float32', 4],
      ['fpn_feat_2', 'float32', 4],
      ['fpn_pos_2', 'float32', 4],
      ['text_features', 'float32', 3],
      ['text_mask', 'bool', 2],
      ['input_boxes', 'float32', 3],
      ['input_boxes_labels', 'int64', 2],
    ],
    outputs: [
      ['pred_masks', 'float32', 4],
      ['pred_boxes', 'float32', 3],
      ['pred_logits', 'float32', 2],
      ['presence_logits', 'float32', 2],
    ],
  },
};

function describeIo(meta: readonly ort.InferenceSession.ValueMetadata[]): Io[] {
  return meta.map((m) => {
    assert.ok(m.isTensor, `${m.name} is a tensor`);
    return [m.name, m.type, m.shape.length];
  });
}

describe('contract-fixture model', function () {
  let dirA: string;
  let dirB: string;

  before(() => {
    dirA = mkdtempSync(join(tmpdir(), 'fixture-a-'));
    dirB = mkdtempSync(join(tmpdir(), 'fixture-b-'));
  });
  after(() => {
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  });

  it('is generated from scratch quickly, deterministically and small', () => {
    const started = Date.now();
    const a = writeModelFixture(dirA);
    const b = writeModelFixture(dirB);
    assert.ok(Date.now() - started < 10_000);
    for (let i = 0; i < a.length; i++) {
      const bytes = readFileSync(a[i]);
      assert.ok(bytes.equals(readFileSync(b[i])), `${a[i]} is byte-identical across runs`);
      assert.ok(bytes.length < 64 * 1024, `${a[i]} is small (${bytes.length} B)`);
    }
  });

  for (const part of ['imageEncoder', 'languageEncoder', 'decoder'] as const) {
    it(`${part}: names, element types and ranks are the SAM3 export's`, async () => {
      const session = await ort.InferenceSession.create(sam3Paths(dirA)[part]);
      assert.deepEqual(describeIo(session.inputMetadata), CONTRACT[part].inputs);
      assert.deepEqual(describeIo(session.outputMetadata), CONTRACT[part].outputs);
      await session.release();
    });
  }

  describe('usls-v2 layout', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'fixture-usls-'));
      writeModelFixture(dir, 'usls-v2');
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    for (const part of ['imageEncoder', 'languageEncoder', 'decoder'] as const) {
      it(`${part}: names, element types, ranks and a dynamic batch axis are usls export_v2's`, async () => {
        const session = await ort.InferenceSession.create(sam3Paths(dir, 'usls-v2')[part]);
        assert.deepEqual(describeIo(session.inputMetadata), USLS_CONTRACT[part].inputs);
        assert.deepEqual(describeIo(session.outputMetadata), USLS_CONTRACT[part].outputs);
        for (const m of [...session.inputMetadata, ...session.outputMetadata]) {
          assert.equal(m.isTensor && m.shape[0], 'batch', `${m.name}: dimension 0 is the symbolic batch axis`);
        }
        await session.release();
      });
    }

    it('is generated deterministically, and replaces the other layout in the directory', () => {
      const again = mkdtempSync(join(tmpdir(), 'fixture-usls-b-'));
      try {
        writeModelFixture(again, 'samexporter');
        const files = writeModelFixture(again, 'usls-v2');
        files.forEach((f, i) => assert.ok(readFileSync(f).equals(readFileSync(Object.values(sam3Paths(dir, 'usls-v2'))[i]))));
        for (const p of Object.values(sam3Paths(again))) assert.throws(() => readFileSync(p), /ENOENT/);
      } finally {
        rmSync(again, { recursive: true, force: true });
      }
    });

    it('is kept by ensureModelFixture, which only fills a directory without a complete export', () => {
      assert.equal(ensureModelFixture(dir), false);
      assert.equal(detectSam3Layout(dir), 'usls-v2');
      const empty = mkdtempSync(join(tmpdir(), 'fixture-none-'));
      try {
        assert.equal(ensureModelFixture(empty), true);
        assert.equal(detectSam3Layout(empty), 'samexporter');
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
    });

    it('computes the colour rule per image over a batch of 3', async () => {
      const paths = sam3Paths(dir, 'usls-v2');
      const [enc, text, dec] = await Promise.all(
        [paths.imageEncoder, paths.languageEncoder, paths.decoder].map((p) => ort.InferenceSession.create(p)),
      );
      const plane = 1008 * 1008;
      // Image k: wall grey left of column 300·(k+1), 41 red units away from it right of there.
      const images = new Float32Array(3 * 3 * plane);
      for (let k = 0; k < 3; k++) {
        for (let i = 0; i < plane; i++) {
          const red = i % 1008 < 300 * (k + 1) ? 0xb4 : 0xb4 + 41;
          images[(k * 3 + 0) * plane + i] = red / 127.5 - 1;
          images[(k * 3 + 1) * plane + i] = 0xb4 / 127.5 - 1;
          images[(k * 3 + 2) * plane + i] = 0xb4 / 127.5 - 1;
        }
      }
      const features = await enc.run({ images: new ort.Tensor('float32', images, [3, 3, 1008, 1008]) });
      const tokenizer = new ClipTokenizer();
      const ids = new BigInt64Array(3 * 32);
      const mask = new BigInt64Array(3 * 32);
      ['wall', 'floor', 'wall'].forEach((word, k) => {
        const t = tokenizer.tokenize(word);
        const end = t.indexOf(49407n);
        t.forEach((v, i) => {
          ids[k * 32 + i] = i > end ? 49407n : v;
          mask[k * 32 + i] = i <= end ? 1n : 0n;
        });
      });
      const txt = await text.run({
        input_ids: new ort.Tensor('int64', ids, [3, 32]),
        attention_mask: new ort.Tensor('int64', mask, [3, 32]),
      });
      assert.deepEqual(Array.from(txt.text_mask.data as Uint8Array), Array.from(mask, Number));
      const out = await dec.run({
        ...features,
        text_features: txt.text_features,
        text_mask: txt.text_mask,
        input_boxes: new ort.Tensor('float32', new Float32Array(3 * 4), [3, 1, 4]),
        input_boxes_labels: new ort.Tensor('int64', new BigInt64Array(3).fill(-10n), [3, 1]),
      });
      assert.deepEqual(out.pred_masks.dims, [3, 1, 1008, 1008]);
      const sig = (x: number) => 1 / (1 + Math.exp(-x));
      const logits = out.pred_logits.data as Float32Array;
      const presence = out.presence_logits.data as Float32Array;
      const scores = [0, 1, 2].map((k) => sig(logits[k]) * sig(presence[k]));
      assert.ok(Math.abs(scores[0] - 0.95) < 1e-6 && Math.abs(scores[2] - 0.95) < 1e-6, `${scores}`);
      assert.ok(scores[1] < 1e-6, 'floor is not in image 1');
      const m = out.pred_masks.data as Float32Array;
      for (const [k, x, inside] of [
        [0, 299, true],
        [0, 300, false],
        [2, 899, true],
        [2, 900, false],
        [1, 0, false],
      ] as const) {
        assert.equal(m[k * plane + 500 * 1008 + x] > 0, inside, `image ${k} column ${x}`);
      }
      assert.deepEqual(Array.from(out.pred_boxes.data as Float32Array), [0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1]);
    });
  });

  it('computes the documented colour rule end to end', async () => {
    const paths = sam3Paths(dirA);
    const [enc, lang, dec] = await Promise.all(
      [paths.imageEncoder, paths.languageEncoder, paths.decoder].map((p) => ort.InferenceSession.create(p)),
    );
    assert.deepEqual(enc.inputMetadata[0], { name: 'image', isTensor: true, type: 'uint8', shape: [3, 1008, 1008] });
    assert.deepEqual(lang.inputMetadata[0], { name: 'tokens', isTensor: true, type: 'int64', shape: [1, 32] });
    const plane = 1008 * 1008;
    const image = new Uint8Array(3 * plane);
    // Left half wall grey (#B4B4B4), right half 41 units away from it in red only: outside the radius of 40.
    for (let y = 0; y < 1008; y++) {
      for (let x = 0; x < 1008; x++) {
        const i = y * 1008 + x;
        image[i] = x < 504 ? 0xb4 : 0xb4 + 41;
        image[plane + i] = 0xb4;
        image[2 * plane + i] = 0xb4;
      }
    }
    const features = await enc.run({ image: new ort.Tensor('uint8', image, [3, 1008, 1008]) });
    const tokenizer = new ClipTokenizer();
    const decode = async (prompt: string, h: number, w: number): Promise<ort.InferenceSession.OnnxValueMapType> => {
      const tokens = tokenizer.tokenize(prompt);
      const text = await lang.run({ tokens: new ort.Tensor('int64', tokens, [1, 32]) });
      // The export's polarity: true marks padding.
      assert.deepEqual(
        Array.from(text.text_attention_mask.data as Uint8Array),
        Array.from(tokens, (t) => (t === 0n ? 1 : 0)),
      );
      return dec.run({
        original_height: new ort.Tensor('int64', BigInt64Array.from([BigInt(h)]), []),
        original_width: new ort.Tensor('int64', BigInt64Array.from([BigInt(w)]), []),
        ...features,
        language_mask: text.text_attention_mask,
        language_features: text.text_memory,
        language_embeds: text.text_embeds,
        box_coords: new ort.Tensor('float32', new Float32Array(4), [1, 1, 4]),
        box_labels: new ort.Tensor('int64', BigInt64Array.from([1n]), [1, 1]),
        box_masks: new ort.Tensor('bool', Uint8Array.from([1]), [1, 1]),
      });
    };
    const hit = await decode('wall', 300, 200);
    assert.deepEqual(hit.masks.dims, [1, 1, 300, 200]);
    assert.ok(Math.abs((hit.scores.data as Float32Array)[0] - 0.95) < 1e-6);
    assert.deepEqual(Array.from(hit.boxes.data as Float32Array), [0, 0, 200, 300]);
    const m = hit.masks.data as Uint8Array;
    for (const [x, y, inside] of [
      [0, 0, 1],
      [98, 150, 1],
      [101, 150, 0],
      [199, 299, 0],
    ] as const)
      assert.equal(m[y * 200 + x], inside, `(${x},${y})`);

    const miss = await decode('floor', 30, 20);
    assert.equal((miss.scores.data as Float32Array)[0], 0);
    assert.ok((miss.masks.data as Uint8Array).every((v) => v === 0));
    const unknown = await decode('zebra', 30, 20);
    assert.equal((unknown.scores.data as Float32Array)[0], 0, 'an unknown prompt finds nothing');
    // Only the first content token counts: "wall art" is the wall's colour.
    assert.ok(Math.abs(((await decode('wall art', 30, 20)).scores.data as Float32Array)[0] - 0.95) < 1e-6);
  });
});
