/**
 * The segmenter on the contract-fixture model (real onnxruntime, real sharp): synthetic images painted with the
 * fixture's reference colours must come back as masks exactly where they were painted (away from region edges,
 * where resampling to 1008² and back blurs a pixel or two), at the upright size of the original.
 */
import { resampleMask } from '../../services/image/maskResample';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createSegmenter, type Segmenter } from '../../gpu-activities/segmenter/segmenter';
import { ModelLoadError, Sam3Model } from '../../gpu-activities/segmenter/sam3Model';
import { maskOf, paint, png } from '../fixtures/gpu/images';
import { testModelDir } from '../fixtures/gpu/model';

const quiet = { info: () => undefined, warn: () => undefined };

/** Mismatches between a mask and the expected region, ignoring pixels within `margin` of a region edge. */
function mismatchesAwayFromEdges(mask: Uint8Array, expected: Uint8Array, width: number, height: number, margin: number): number {
  let bad = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const want = expected[y * width + x];
      let uniform = true;
      for (let dy = -margin; dy <= margin && uniform; dy++) {
        for (let dx = -margin; dx <= margin && uniform; dx++) {
          const xx = Math.min(width - 1, Math.max(0, x + dx));
          const yy = Math.min(height - 1, Math.max(0, y + dy));
          if (expected[yy * width + xx] !== want) uniform = false;
        }
      }
      if (uniform && (mask[y * width + x] > 127 ? 255 : 0) !== want) bad++;
    }
  }
  return bad;
}

describe('segmenter (SAM3 contract fixture)', function () {
  let segmenter: Segmenter;

  before(async () => {
    segmenter = createSegmenter({ modelDir: testModelDir(), log: quiet });
    await segmenter.warm();
  });

  const W = 160;
  const H = 120;
  const regions = {
    wall: (x: number, y: number) => y < 60,
    sofa: (x: number, y: number) => y >= 60 && x >= 20 && x < 70 && y < 100,
    person: (x: number, y: number) => y >= 60 && x >= 110,
  };
  const scene = paint(W, H, (x, y) =>
    regions.wall(x, y) ? 'wall' : regions.sofa(x, y) ? 'sofa' : regions.person(x, y) ? 'person' : 'floor',
  );

  it('masks each concept exactly where its colour is, at the original size when it is within the model size', async () => {
    const out = await segmenter.segment(await png(scene), [
      { id: 'wall', prompt: 'wall' },
      { id: 'sofa', prompt: 'sofa' },
      { id: 'floor', prompt: 'floor' },
      { id: 'person', prompt: 'person' },
    ]);
    assert.equal(out.width, W);
    assert.equal(out.height, H);
    assert.deepEqual([out.maskWidth, out.maskHeight], [W, H]);
    const floor = (x: number, y: number): boolean => !regions.wall(x, y) && !regions.sofa(x, y) && !regions.person(x, y);
    for (const [id, inside] of Object.entries({ ...regions, floor })) {
      const mask = out.masks.get(id)!;
      assert.equal(mask.length, W * H);
      assert.equal(mismatchesAwayFromEdges(mask, maskOf(W, H, inside), W, H, 2), 0, `${id} mask`);
      const expected = maskOf(W, H, inside).filter((v) => v).length / (W * H);
      assert.ok(Math.abs(out.coverage.get(id)! - expected) < 0.02, `${id} coverage ${out.coverage.get(id)} ≈ ${expected}`);
    }
    assert.ok(out.timings.modelMs > 0 && out.timings.preprocessMs > 0);
  });

  it('returns an empty mask (coverage 0) for an absent or unknown concept', async () => {
    const out = await segmenter.segment(await png(scene), [
      { id: 'ceiling', prompt: 'ceiling' },
      { id: 'zebra', prompt: 'zebra' },
    ]);
    for (const id of ['ceiling', 'zebra']) {
      assert.ok(
        out.masks.get(id)!.every((v) => v === 0),
        id,
      );
      assert.equal(out.coverage.get(id), 0);
    }
  });

  it('masks a larger original at the working size (long side 1008, aspect kept), exact away from edges once upsampled', async () => {
    const w = 1500;
    const h = 1100;
    const inside = (x: number, y: number): boolean => (x - 700) ** 2 + (y - 500) ** 2 < 300 ** 2;
    const big = paint(w, h, (x, y) => (inside(x, y) ? 'rug' : 'floor'));
    const out = await segmenter.segment(await png(big), [{ id: 'rug', prompt: 'rug' }]);
    assert.deepEqual([out.width, out.height, out.maskWidth, out.maskHeight], [w, h, 1008, 739]);
    const mask = out.masks.get('rug')!;
    assert.equal(mask.length, 1008 * 739);
    // What applyRule does with it: one bilinear upsample to the original size.
    const full = resampleMask(mask, out.maskWidth, out.maskHeight, w, h);
    assert.equal(mismatchesAwayFromEdges(full, maskOf(w, h, inside), w, h, 3), 0);
    const expected = maskOf(w, h, inside).filter((v) => v).length / (w * h);
    assert.ok(Math.abs(out.coverage.get('rug')! - expected) < 0.01, `coverage ${out.coverage.get('rug')} ≈ ${expected}`);
  });

  it('applies EXIF orientation first: masks are upright', async () => {
    // Stored 120×80 with the left third wall; orientation 6 displays it rotated 90° clockwise (80×120, top third wall).
    const stored = paint(120, 80, (x) => (x < 40 ? 'wall' : 'floor'));
    const jpeg = await sharp(stored.data, { raw: { width: 120, height: 80, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const out = await segmenter.segment(jpeg, [{ id: 'wall', prompt: 'wall' }]);
    assert.equal(out.width, 80);
    assert.equal(out.height, 120);
    assert.equal(
      mismatchesAwayFromEdges(
        out.masks.get('wall')!,
        maskOf(80, 120, (x, y) => y < 40),
        80,
        120,
        3,
      ),
      0,
    );
  });

  it('drops instances at or below the score threshold', async () => {
    const strict = createSegmenter({ modelDir: testModelDir(), scoreThreshold: 0.96, log: quiet });
    const out = await strict.segment(await png(scene), [{ id: 'wall', prompt: 'wall' }]);
    assert.equal(out.coverage.get('wall'), 0);
  });

  it('encodes each prompt once for the life of the process', async () => {
    const calls: string[] = [];
    const original = Sam3Model.prototype.encodeText;
    Sam3Model.prototype.encodeText = function (tokens) {
      calls.push(String(tokens[1]));
      return original.call(this, tokens);
    };
    try {
      const fresh = createSegmenter({ modelDir: testModelDir(), log: quiet });
      const image = await png(scene);
      await fresh.segment(image, [
        { id: 'wall', prompt: 'wall' },
        { id: 'sofa', prompt: 'sofa' },
      ]);
      await fresh.segment(image, [
        { id: 'wall', prompt: 'wall' },
        { id: 'sofa', prompt: 'sofa' },
      ]);
      assert.equal(calls.length, 2);
    } finally {
      Sam3Model.prototype.encodeText = original;
    }
  });

  it('falls back to CPU with a log line when CUDA is requested but unavailable', async () => {
    const warnings: string[] = [];
    const cuda = createSegmenter({
      modelDir: testModelDir(),
      provider: 'cuda',
      log: { info: () => undefined, warn: (m) => warnings.push(m) },
    });
    const out = await cuda.segment(await png(scene), [{ id: 'wall', prompt: 'wall' }]);
    assert.ok(out.coverage.get('wall')! > 0.4);
    assert.ok(
      warnings.some((w) => /CUDA execution provider unavailable.*falling back to CPU/.test(w)),
      warnings.join('\n'),
    );
  });

  it('fails a load retryably and loads again once the files are there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'no-model-'));
    try {
      const s = createSegmenter({ modelDir: dir, log: quiet });
      await assert.rejects(s.warm(), ModelLoadError);
      cpSync(join(testModelDir(), 'sam3'), join(dir, 'sam3'), { recursive: true });
      await s.warm();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops when its signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await assert.rejects(segmenter.segment(await png(scene), [{ id: 'wall', prompt: 'wall' }], controller.signal), /stop/);
  });
});
