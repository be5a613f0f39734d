/**
 * The segmenter over both export layouts (real onnxruntime on the two contract fixtures): the layout is detected from
 * the files, both give the same masks, and the dynamic batcher gives each image of a batch of 1, 3 or 8 the same
 * result as a call on its own; a corrupt image or a cancelled item fails alone.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ItemImageError } from '../../services/image/inputImage';
import { detectSam3Layout } from '../../gpu-activities/segmenter/sam3Layout';
import { createSegmenter, type Segmentation, type Segmenter } from '../../gpu-activities/segmenter/segmenter';
import { createPostPool } from '../../gpu-activities/worker';
import { maskOf, paint, png } from '../fixtures/gpu/images';
import { testModelDir } from '../fixtures/gpu/model';

const quiet = { info: () => undefined, warn: () => undefined };
const PROMPTS = [
  { id: 'wall', prompt: 'wall' },
  { id: 'sofa', prompt: 'sofa' },
  { id: 'floor', prompt: 'floor' },
];

/** Scene `k`: wall above a line that moves with k, a sofa block, floor elsewhere (so each image has its own masks). */
function scene(k: number, w: number, h: number) {
  const wallUntil = Math.round(h * (0.2 + 0.05 * k));
  const sofa = (x: number, y: number) => y >= wallUntil && x >= w * 0.1 && x < w * (0.3 + 0.05 * k) && y < h * 0.9;
  return {
    image: paint(w, h, (x, y) => (y < wallUntil ? 'wall' : sofa(x, y) ? 'sofa' : 'floor')),
    wall: maskOf(w, h, (x, y) => y < wallUntil),
    sofa: maskOf(w, h, sofa),
  };
}

function differing(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

function assertSameSegmentation(got: Segmentation, want: Segmentation, what: string): void {
  assert.equal(got.width, want.width, what);
  assert.equal(got.height, want.height, what);
  for (const [id, mask] of want.masks) {
    assert.equal(differing(got.masks.get(id)!, mask), 0, `${what}: ${id} mask`);
    assert.equal(got.coverage.get(id), want.coverage.get(id), `${what}: ${id} coverage`);
  }
}

describe('segmenter layouts and dynamic batching', function () {
  this.timeout(120_000);
  let samexporter: Segmenter;
  let usls: Segmenter;
  /** Waits long for batchmates, so concurrent callers on a loaded machine share one batch. */
  let patient: Segmenter;
  /** A batch starts exactly when `n` images wait (never on the clock): deterministic batches on a loaded machine. */
  const batchesOf = (n: number) => createSegmenter({ modelDir: testModelDir('usls-v2'), maxBatch: n, batchWaitMs: 600_000, log: quiet });
  /** Never batches: the reference of a call on its own. */
  let single: Segmenter;

  before(async () => {
    samexporter = createSegmenter({ modelDir: testModelDir('samexporter'), maxBatch: 8, log: quiet });
    usls = createSegmenter({ modelDir: testModelDir('usls-v2'), maxBatch: 8, batchWaitMs: 50, log: quiet });
    patient = createSegmenter({ modelDir: testModelDir('usls-v2'), maxBatch: 8, batchWaitMs: 3000, log: quiet });
    single = createSegmenter({ modelDir: testModelDir('usls-v2'), maxBatch: 1, log: quiet });
    await Promise.all([samexporter.warm(), usls.warm(), patient.warm(), single.warm()]);
  });

  it('detects the layout from the files and batches only the one with a batch axis', async () => {
    assert.equal(detectSam3Layout(testModelDir('samexporter')), 'samexporter');
    assert.equal(detectSam3Layout(testModelDir('usls-v2')), 'usls-v2');
    const empty = mkdtempSync(join(tmpdir(), 'no-layout-'));
    try {
      assert.equal(detectSam3Layout(empty), undefined);
      // Both complete: the batched export is served.
      cpSync(join(testModelDir('samexporter'), 'sam3'), join(empty, 'sam3'), { recursive: true });
      cpSync(join(testModelDir('usls-v2'), 'sam3'), join(empty, 'sam3'), { recursive: true });
      assert.equal(detectSam3Layout(empty), 'usls-v2');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    assert.equal(samexporter.maxBatch(), 1, 'samexporter has no batch axis');
    assert.equal(usls.maxBatch(), 8);
  });

  it('gives the same masks through both layouts at the encoder size', async () => {
    for (let k = 0; k < 3; k++) {
      const s = scene(k, 1008, 1008);
      const image = await png(s.image);
      const [a, b] = await Promise.all([samexporter.segment(image, PROMPTS), usls.segment(image, PROMPTS)]);
      assertSameSegmentation(b, a, `scene ${k}`);
      assert.equal(differing(a.masks.get('wall')!, s.wall), 0, 'wall where painted');
      assert.equal(differing(a.masks.get('sofa')!, s.sofa), 0, 'sofa where painted');
    }
  });

  it('gives the same masks through both layouts at other sizes, but for resampled edge pixels', async () => {
    for (const [w, h] of [
      [160, 120],
      [1500, 1100],
    ]) {
      const s = scene(1, w, h);
      const image = await png(s.image);
      const [a, b] = await Promise.all([samexporter.segment(image, PROMPTS), usls.segment(image, PROMPTS)]);
      for (const id of ['wall', 'sofa', 'floor']) {
        const d = differing(a.masks.get(id)!, b.masks.get(id)!);
        // samexporter resizes its masks to the original inside the graph (nearest), usls returns them at the model's
        // resolution and the segmenter resizes (bilinear): only pixels on a region's edge may differ.
        assert.ok(d <= 2 * (w + h), `${w}×${h} ${id}: ${d} pixels differ`);
      }
      assert.ok(Math.abs(a.coverage.get('wall')! - b.coverage.get('wall')!) < 0.01);
    }
  });

  for (const n of [1, 3, 8]) {
    it(`gives each image of a batch of ${n} the result of a call on its own`, async () => {
      const images = await Promise.all(Array.from({ length: n }, (_, k) => png(scene(k, 320, 240).image)));
      const alone: Segmentation[] = [];
      for (const image of images) alone.push(await single.segment(image, PROMPTS));
      // Each image asks for its own subset of prompts, so a decode runs over part of the batch only.
      const asks = images.map((_, k) => (k % 2 === 0 ? PROMPTS : PROMPTS.slice(0, 2)));
      const batching = batchesOf(n);
      const batched = await Promise.all(images.map((image, k) => batching.segment(image, asks[k])));
      assert.ok(alone.every((a) => a.timings.batchSize === 1));
      batched.forEach((b, k) => {
        assert.equal(b.timings.batchSize, n, `image ${k} ran in one batch of ${n}`);
        assert.deepEqual(
          [...b.masks.keys()],
          asks[k].map((p) => p.id),
        );
        for (const id of b.masks.keys()) assert.equal(differing(b.masks.get(id)!, alone[k].masks.get(id)!), 0, `image ${k} ${id}`);
      });
    });
  }

  it('post-processes on worker threads (the GPU worker pool) with the same masks and coverage as inline', async () => {
    const pool = createPostPool();
    let calls = 0;
    const run = pool.run.bind(pool);
    pool.run = ((...args: Parameters<typeof run>) => (calls++, run(...args))) as typeof pool.run;
    try {
      for (const layout of ['samexporter', 'usls-v2'] as const) {
        const threaded = createSegmenter({ modelDir: testModelDir(layout), maxBatch: 3, batchWaitMs: 50, postPool: pool, log: quiet });
        const inline = layout === 'samexporter' ? samexporter : single;
        for (const [k, w, h] of [
          [0, 1500, 1100],
          [1, 320, 240],
        ]) {
          const image = await png(scene(k, w, h).image);
          const [a, b] = await Promise.all([threaded.segment(image, PROMPTS), inline.segment(image, PROMPTS)]);
          assertSameSegmentation(a, b, `${layout}, scene ${k} ${w}×${h}`);
        }
      }
      assert.equal(calls, 2 * 2 * PROMPTS.length, 'every prompt of every image went through the pool');
    } finally {
      await pool.close();
    }
  });

  it('fails a corrupt image alone; its batchmates get their masks', async () => {
    const good = await Promise.all([0, 1].map((k) => png(scene(k, 320, 240).image)));
    const corrupt = Buffer.concat([good[0].subarray(0, 200), Buffer.alloc(300, 7)]);
    const pairs = batchesOf(2);
    const [a, bad, b] = await Promise.allSettled([
      pairs.segment(good[0], PROMPTS),
      pairs.segment(corrupt, PROMPTS),
      pairs.segment(good[1], PROMPTS),
    ]);
    assert.equal(bad.status, 'rejected');
    assert.ok((bad as PromiseRejectedResult).reason instanceof ItemImageError);
    for (const [r, k] of [
      [a, 0],
      [b, 1],
    ] as const) {
      assert.equal(r.status, 'fulfilled');
      const seg = (r as PromiseFulfilledResult<Segmentation>).value;
      assert.equal(seg.timings.batchSize, 2);
      assert.equal(differing(seg.masks.get('wall')!, scene(k, 320, 240).wall), 0);
    }
  });

  it('takes a cancelled item out of the batch queue; the others run without it', async () => {
    const images = await Promise.all([0, 1, 2].map((k) => png(scene(k, 320, 240).image)));
    const controller = new AbortController();
    const started = Date.now();
    const runs = images.map((image, k) => patient.segment(image, PROMPTS, k === 1 ? controller.signal : undefined));
    setTimeout(() => controller.abort(new Error('cancelled by the test')), 300);
    await assert.rejects(runs[1], /cancelled by the test/);
    assert.ok(Date.now() - started < 3000, 'the cancelled item left before its batch ran');
    const [first, third] = await Promise.all([runs[0], runs[2]]);
    assert.equal(first.timings.batchSize, 2);
    assert.equal(third.timings.batchSize, 2);
    assert.equal(differing(third.masks.get('wall')!, scene(2, 320, 240).wall), 0);
  });
});
