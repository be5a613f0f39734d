/**
 * The rule engine (real sharp, real worker threads): every operation's numbers, measured by the test on the written
 * PNG — region = concept minus protect, pixels outside every region bit-identical, feathering only near edges.
 */
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { RuleParams, type RuleParamsInput } from '../../domain/ruleParams';
import { deltaE2000 } from '../../activities/rules/ciede2000';
import { labToRgb, parseHex, rgbToLab, type Lab } from '../../activities/rules/color';
import { createRuleEngine, encodeResult, type RuleEngine, type RuleOutput } from '../../activities/rules/engine';
import { KernelPool } from '../../activities/rules/kernelPool';
import { adjustAffine } from '../../activities/rules/operations';
import { countDiffering, decode, maskOf, maskPng, paint, pixelAt, png, type Pixels } from '../fixtures/gpu/images';

const W = 120;
const H = 90;
// Wall: the top 60 rows; person: a block standing in front of the wall and the floor.
const isWall = (x: number, y: number): boolean => y < 60;
const isPerson = (x: number, y: number): boolean => x >= 50 && x < 70 && y >= 30;
const labOf = (p: number[]): Lab => rgbToLab([p[0], p[1], p[2]]);

describe('rule engine', function () {
  let pool: KernelPool;
  let engine: RuleEngine;

  before(async () => {
    pool = new KernelPool(2);
    await pool.warm();
    engine = createRuleEngine({ pool });
  });
  after(() => pool.close());

  async function run(
    image: Pixels,
    masks: Record<string, Uint8Array>,
    params: RuleParamsInput,
    protect: string[] = [],
  ): Promise<{ out: RuleOutput; result: Pixels }> {
    const files = Object.fromEntries(
      await Promise.all(Object.entries(masks).map(async ([id, m]) => [id, await maskPng(m, image.width, image.height)] as const)),
    );
    const parsed = RuleParams.parse(params);
    const concepts = [...new Set(parsed.operations.map((o) => o.concept))];
    const out = await engine.apply({ image: await png(image), masks: files, concepts, protect, params: parsed });
    return { out, result: await decode(out.result) };
  }

  const flat = paint(W, H, (x, y) => (isWall(x, y) ? 'wall' : 'floor'));
  const wallMask = maskOf(W, H, isWall);
  const personMask = maskOf(W, H, isPerson);

  it('recolor: a flat region lands on the target (ΔE00 ≤ 3) and nothing else changes', async () => {
    const { out, result } = await run(flat, { wall: wallMask }, { operations: [{ concept: 'wall', op: 'recolor', color: '#A3B18A' }] });
    const target = rgbToLab(parseHex('#A3B18A'));
    for (const [x, y] of [
      [0, 0],
      [60, 30],
      [119, 59],
    ])
      assert.ok(deltaE2000(labOf(pixelAt(result, x, y)), target) <= 3, `(${x},${y})`);
    assert.equal(
      countDiffering(flat, result, (x, y) => !isWall(x, y)),
      0,
      'outside the region is bit-identical',
    );
    assert.ok(out.checks.delta_e_to_target.wall <= 3);
    assert.equal(out.checks.protected_changed_px, 0);
    assert.ok(Math.abs(out.checks.coverage.wall - 60 / 90) < 1e-6);
    // Set consistency: the region's mean Lab on the written result, only for concepts the rule colours.
    assert.deepEqual(Object.keys(out.checks.mean_lab!), ['wall']);
    assert.ok(deltaE2000(out.checks.mean_lab!.wall, target) <= 3, JSON.stringify(out.checks.mean_lab));
  });

  it('recolor keeps shading: L* deviations survive, mean L* and a*b* become the target', async () => {
    // Two greys (L* ≈ 42 and 67) in vertical stripes; recolor to sage.
    const stripes = paint(W, H, (x, y) => (isWall(x, y) ? (x % 2 ? [100, 100, 100] : [160, 160, 160]) : 'floor'));
    const { result } = await run(stripes, { wall: wallMask }, { operations: [{ concept: 'wall', op: 'recolor', color: '#A3B18A' }] });
    const target = rgbToLab(parseHex('#A3B18A'));
    const dark = labOf(pixelAt(result, 1, 10));
    const light = labOf(pixelAt(result, 2, 10));
    const before = [labOf([100, 100, 100]), labOf([160, 160, 160])];
    assert.ok(Math.abs(light[0] - dark[0] - (before[1][0] - before[0][0])) < 0.8, 'the L* step between stripes is kept');
    assert.ok(Math.abs((light[0] + dark[0]) / 2 - target[0]) < 0.8, 'mean L* is the target L*');
    for (const lab of [dark, light]) assert.ok(Math.hypot(lab[1] - target[1], lab[2] - target[2]) < 1.5, `a*b* ${lab}`);
  });

  it('recolor strength blends original -> recolored', async () => {
    const { result } = await run(
      flat,
      { wall: wallMask },
      { operations: [{ concept: 'wall', op: 'recolor', color: '#3C64B4', strength: 0.5 }] },
    );
    const original = labOf(pixelAt(flat, 5, 5));
    const target = rgbToLab(parseHex('#3C64B4'));
    const got = labOf(pixelAt(result, 5, 5));
    const mid = original.map((v, i) => (v + target[i]) / 2);
    assert.ok(deltaE2000(got, mid as Lab) < 1, `${got} ≈ ${mid}`);
  });

  it('adjust: brightness, contrast, saturation and hue follow the CIELAB formula', async () => {
    const op = { brightness: 1.2, contrast: 1.1, saturation: 1.5, hue: 30 };
    const { result } = await run(
      flat,
      { wall: maskOf(W, H, (x, y) => !isWall(x, y)) },
      { operations: [{ concept: 'wall', op: 'adjust', ...op }] },
    );
    const [L, a, b] = labOf(pixelAt(flat, 0, 80));
    const k = adjustAffine(op);
    const expected = labToRgb([k.kL * L + k.oL, k.m00 * a + k.m01 * b, k.m10 * a + k.m11 * b]);
    pixelAt(result, 0, 80).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 1, `${pixelAt(result, 0, 80)} ≈ ${expected}`));
    const after = labOf(pixelAt(result, 0, 80));
    const hue = (lab: Lab): number => (Math.atan2(lab[2], lab[1]) * 180) / Math.PI;
    assert.ok(Math.abs(hue(after) - hue([L, a, b]) - 30) < 1, 'hue rotated by 30°');
    assert.equal(countDiffering(flat, result, isWall), 0);
  });

  it('replace fills the region with the colour exactly', async () => {
    const { result } = await run(flat, { wall: wallMask }, { operations: [{ concept: 'wall', op: 'replace', color: '#FFFFFF' }] });
    for (let y = 0; y < 60; y++) for (let x = 0; x < W; x++) assert.deepEqual(pixelAt(result, x, y), [255, 255, 255]);
    assert.equal(
      countDiffering(flat, result, (x, y) => !isWall(x, y)),
      0,
    );
  });

  it('blur smooths the region only', async () => {
    const checker = paint(W, H, (x, y) => (((x >> 2) + (y >> 2)) % 2 ? [40, 40, 40] : [220, 220, 220]));
    const { result } = await run(checker, { wall: wallMask }, { operations: [{ concept: 'wall', op: 'blur', sigma: 3 }] });
    const spread = (img: Pixels, y0: number, y1: number): number => {
      let lo = 255;
      let hi = 0;
      for (let y = y0; y < y1; y++)
        for (let x = 20; x < 100; x++) [lo, hi] = [Math.min(lo, img.data[(y * W + x) * 3]), Math.max(hi, img.data[(y * W + x) * 3])];
      return hi - lo;
    };
    assert.ok(spread(result, 10, 40) < 60, `blurred region spread ${spread(result, 10, 40)}`);
    assert.equal(spread(result, 70, 90), 180, 'below the region the checkerboard is untouched');
    assert.equal(
      countDiffering(checker, result, (x, y) => !isWall(x, y)),
      0,
    );
  });

  it("blur with a sigma below libvips' 0.3 is an exact 3×3 Gaussian: nearly a no-op, never an error", async () => {
    const checker = paint(W, H, (x, y) => (((x >> 2) + (y >> 2)) % 2 ? [40, 40, 40] : [220, 220, 220]));
    for (const sigma of [0.05, 0.29]) {
      const { result } = await run(checker, { wall: wallMask }, { operations: [{ concept: 'wall', op: 'blur', sigma }] });
      // The edge tap is exp(-1/(2σ²)): 4e-3 of a 180-level step at σ = 0.29, nothing at σ = 0.05.
      const most = sigma < 0.1 ? 0 : Math.ceil(180 * 2 * Math.exp(-1 / (2 * sigma * sigma)));
      for (let i = 0; i < W * 60 * 3; i++) assert.ok(Math.abs(result.data[i] - checker.data[i]) <= most, `σ ${sigma} moved pixel ${i}`);
      assert.equal(
        countDiffering(checker, result, (x, y) => !isWall(x, y)),
        0,
      );
    }
  });

  it('writes PNG losslessly, so the checks of a PNG result may read the rendered pixels (RGB and RGBA noise)', async () => {
    for (const level of ['fast', 1, 4] as const)
      for (const channels of [3, 4] as const) {
        // Noise, and a smooth gradient (where the fast encoder's row filters and runs do their work).
        const noise = Buffer.alloc(257 * 131 * channels);
        for (let i = 0, s = 7; i < noise.length; i++) noise[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
        const smooth = Buffer.alloc(noise.length);
        for (let i = 0; i < smooth.length; i++) smooth[i] = (Math.floor(i / channels / 257) + (i % (257 * channels)) / 8) & 255;
        for (const data of [noise, smooth]) {
          const png = await encodeResult({ data, width: 257, height: 131, channels }, 'png', level);
          const { data: back, info } = await sharp(png).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
          assert.equal(info.channels, channels, `${level}: ${channels} channels stay ${channels}`);
          assert.ok(back.equals(data), `${level}: ${channels} channels round-trip bit-exactly`);
        }
      }
  });

  it('writes PNG results the way RESULT_PNG_LEVEL says (fast by default, or a zlib level): same pixels, other bytes', async () => {
    const files = { wall: await maskPng(wallMask, W, H), person: await maskPng(personMask, W, H) };
    const params = RuleParams.parse({ operations: [{ concept: 'wall', op: 'recolor', color: '#A3B18A' }] });
    const request = { image: await png(flat), masks: files, concepts: ['wall'], protect: ['person'], params };
    const [byDefault, fast, level1, level3, level9] = await Promise.all(
      [undefined, 'fast' as const, 1, 3, 9].map((pngCompressionLevel) =>
        createRuleEngine({ pool, ...(pngCompressionLevel ? { pngCompressionLevel } : {}) }).apply(request),
      ),
    );
    assert.ok(byDefault.result.equals(fast.result), 'the default is the fast encoder');
    // Past its size bound the fast encoder (which copies the image) gives way to libvips at level 3.
    const large = await createRuleEngine({ pool, fastPngMaxPixels: W * H - 1 }).apply(request);
    assert.ok(large.result.equals(level3.result) && !large.result.equals(fast.result));
    assert.ok((await createRuleEngine({ pool, fastPngMaxPixels: W * H }).apply(request)).result.equals(fast.result));
    assert.ok(!fast.result.equals(level1.result));
    assert.ok(level1.result.length > level9.result.length, `level 1: ${level1.result.length} B, level 9: ${level9.result.length} B`);
    const pixels = (await decode(level9.result)).data;
    for (const out of [fast, level1]) {
      assert.deepEqual((await decode(out.result)).data, pixels);
      assert.deepEqual(out.checks, level9.checks);
    }
  });

  for (const format of ['jpeg', 'webp'] as const) {
    it(`writes a ${format} result when asked, with protected pixels checked within 3 levels`, async () => {
      const files = { wall: await maskPng(wallMask, W, H), person: await maskPng(personMask, W, H) };
      const params = RuleParams.parse({ operations: [{ concept: 'wall', op: 'recolor', color: '#A3B18A' }] });
      const out = await engine.apply({
        image: await png(flat),
        masks: files,
        concepts: ['wall'],
        protect: ['person'],
        params,
        outputFormat: format,
      });
      const meta = await sharp(out.result).metadata();
      assert.equal(meta.format, format);
      if (format === 'jpeg') assert.equal(meta.chromaSubsampling, '4:4:4');
      // Lossy: the checks count protected pixels that moved by more than 3 levels, measured on the written file.
      const written = await decode(out.result);
      let moved = 0;
      let movedAtAll = 0;
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          if (!isPerson(x, y)) continue;
          const d = [0, 1, 2].map((c) => Math.abs(pixelAt(written, x, y)[c] - pixelAt(flat, x, y)[c]));
          if (Math.max(...d) > 3) moved++;
          if (Math.max(...d) > 0) movedAtAll++;
        }
      assert.equal(out.checks.protected_changed_px, moved);
      assert.ok(moved < movedAtAll, `the tolerance matters: ${moved} moved > 3 levels, ${movedAtAll} moved at all`);
      assert.ok(out.checks.delta_e_to_target.wall <= 3, `ΔE ${out.checks.delta_e_to_target.wall}`);
    });
  }

  it('subtracts the union of protect masks from every region', async () => {
    const { out, result } = await run(
      flat,
      { wall: wallMask, person: personMask, plant: maskOf(W, H, (x, y) => x < 10 && y < 10) },
      { operations: [{ concept: 'wall', op: 'replace', color: '#000000' }] },
      ['person', 'plant'],
    );
    assert.equal(
      countDiffering(flat, result, (x, y) => isPerson(x, y) || (x < 10 && y < 10)),
      0,
    );
    assert.deepEqual(pixelAt(result, 30, 5), [0, 0, 0]);
    assert.equal(out.checks.protected_changed_px, 0);
    assert.ok(Math.abs(out.checks.coverage.person - (20 * 60) / (W * H)) < 1e-6);
    assert.ok(Math.abs(out.checks.coverage.plant - 100 / (W * H)) < 1e-6);
  });

  it('feathers only within feather_px of the edge, inside the region', async () => {
    const f = 3;
    const ops = [{ concept: 'wall', op: 'replace' as const, color: '#000000' }];
    const hard = (await run(flat, { wall: wallMask, person: personMask }, { operations: ops }, ['person'])).result;
    const { result, out } = await run(flat, { wall: wallMask, person: personMask }, { operations: ops, feather_px: f }, ['person']);
    const region = (x: number, y: number): boolean => isWall(x, y) && !isPerson(x, y);
    // Distance to the nearest non-region pixel (the image border is not an edge).
    const edgeDistance = (x: number, y: number): number => {
      let d = Infinity;
      for (let yy = 0; yy < H; yy++)
        for (let xx = 0; xx < W; xx++) if (!region(xx, yy)) d = Math.min(d, Math.max(Math.abs(xx - x), Math.abs(yy - y)));
      return d;
    };
    let softened = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (!region(x, y)) continue;
        const same = pixelAt(result, x, y).every((v, i) => v === pixelAt(hard, x, y)[i]);
        if (edgeDistance(x, y) > f) assert.ok(same, `(${x},${y}) is beyond the feather`);
        else if (!same) softened++;
      }
    }
    assert.ok(softened > 100, `edge pixels were softened (${softened})`);
    assert.equal(
      countDiffering(flat, result, (x, y) => !region(x, y)),
      0,
      'feathering never leaves the region',
    );
    assert.equal(out.checks.protected_changed_px, 0);
  });

  it('applies operations in order', async () => {
    const a = await run(
      flat,
      { wall: wallMask },
      {
        operations: [
          { concept: 'wall', op: 'adjust', brightness: 1.4 },
          { concept: 'wall', op: 'recolor', color: '#A3B18A' },
        ],
      },
    );
    const b = await run(
      flat,
      { wall: wallMask },
      {
        operations: [
          { concept: 'wall', op: 'recolor', color: '#A3B18A' },
          { concept: 'wall', op: 'adjust', brightness: 1.4 },
        ],
      },
    );
    const target = rgbToLab(parseHex('#A3B18A'));
    assert.ok(deltaE2000(labOf(pixelAt(a.result, 3, 3)), target) < 1, 'recolor last: the target');
    assert.ok(labOf(pixelAt(b.result, 3, 3))[0] > target[0] + 10, 'adjust last: brighter than the target');
    assert.ok(b.out.checks.delta_e_to_target.wall > 5, 'checks measure the result, not the intent');
  });

  it('keeps an alpha channel bit-identical', async () => {
    const rgba = paint(W, H, (x, y) => [...(isWall(x, y) ? [180, 180, 180] : [139, 90, 43]), (x * 2) % 256], 4);
    const { out, result } = await run(rgba, { wall: wallMask }, { operations: [{ concept: 'wall', op: 'replace', color: '#FF0000' }] });
    assert.equal(result.channels, 4);
    for (let i = 0; i < W * H; i++) assert.equal(result.data[i * 4 + 3], rgba.data[i * 4 + 3]);
    assert.deepEqual(pixelAt(result, 4, 4), [255, 0, 0, 8]);
    assert.equal((await sharp(out.previewJpeg).metadata()).format, 'jpeg');
  });

  it('writes a JPEG preview of at most 512 px on the long side', async () => {
    const big = paint(1200, 600, (x, y) => (y < 300 ? 'wall' : 'floor'));
    const { out } = await run(
      big,
      { wall: maskOf(1200, 600, (x, y) => y < 300) },
      { operations: [{ concept: 'wall', op: 'replace', color: '#FFFFFF' }] },
    );
    const meta = await sharp(out.previewJpeg).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 512, 256]);
    const small = await run(flat, { wall: wallMask }, { operations: [{ concept: 'wall', op: 'replace', color: '#FFFFFF' }] });
    assert.equal((await sharp(small.out.previewJpeg).metadata()).width, W, 'never enlarged');
  });

  it('an empty mask changes nothing and reports coverage 0', async () => {
    const { out, result } = await run(
      flat,
      { wall: new Uint8Array(W * H) },
      { operations: [{ concept: 'wall', op: 'recolor', color: '#A3B18A' }] },
    );
    assert.equal(
      countDiffering(flat, result, () => true),
      0,
    );
    assert.equal(out.checks.coverage.wall, 0);
  });

  it('resizes a mask of another size (nearest) to the image', async () => {
    const half = await sharp(
      maskOf(W / 2, H / 2, (x, y) => y < 30),
      { raw: { width: W / 2, height: H / 2, channels: 1 } },
    )
      .png()
      .toBuffer();
    const out = await engine.apply({
      image: await png(flat),
      masks: { wall: half },
      concepts: ['wall'],
      protect: [],
      params: RuleParams.parse({ operations: [{ concept: 'wall', op: 'replace', color: '#000000' }] }),
    });
    const result = await decode(out.result);
    assert.deepEqual(pixelAt(result, 0, 59), [0, 0, 0]);
    assert.equal(
      countDiffering(flat, result, (x, y) => !isWall(x, y)),
      0,
    );
  });

  it('stops when its signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    const params = RuleParams.parse({ operations: [{ concept: 'wall', op: 'replace', color: '#000000' }] });
    await assert.rejects(
      engine.apply(
        { image: await png(flat), masks: { wall: await maskPng(wallMask, W, H) }, concepts: ['wall'], protect: [], params },
        { signal: controller.signal },
      ),
      /cancelled/,
    );
  });
});
