/** Rule kernels against their definitions, written out pixel by pixel with the exact colour maths. */
import assert from 'node:assert/strict';
import { deltaE2000 } from '../../activities/rules/ciede2000';
import { rgbToLab } from '../../activities/rules/color';
import { countChanged, featherAlpha, labAffine, meanLightness, regionColour, type Rect } from '../../activities/rules/kernels';

const WIDTH = 61;
const HEIGHT = 37;

/** A deterministic generator of integers in [0, n). */
function generator(seed: number): (n: number) => number {
  let s = seed;
  return (n) => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n;
}

/** Random RGB pixels and a region of blobs (0/255) inside `rect`, 0 outside it. */
function scene(seed: number, rect: Rect): { img: Uint8Array; region: Uint8Array } {
  const rnd = generator(seed);
  const img = Uint8Array.from({ length: WIDTH * HEIGHT * 3 }, () => rnd(256));
  const region = new Uint8Array(WIDTH * HEIGHT);
  for (let y = rect.y0; y < rect.y1; y++) for (let x = rect.x0; x < rect.x1; x++) if (rnd(4) !== 0) region[y * WIDTH + x] = 255;
  return { img, region };
}

const RECT: Rect = { x0: 7, y0: 3, x1: 52, y1: 30 };

describe('rule kernels', () => {
  it('meanLightness is the mean CIELAB L* of the region (within 0.002), over every step-th pixel when sampled', () => {
    for (let seed = 1; seed <= 4; seed++) {
      const { img, region } = scene(seed, RECT);
      const count = region.reduce((n, v) => n + (v ? 1 : 0), 0);
      assert.ok(count > 500);
      for (const maxSamples of [count, 200, 9]) {
        const step = Math.max(1, Math.floor(count / maxSamples));
        let seen = 0;
        let sum = 0;
        let n = 0;
        for (let i = 0; i < region.length; i++) {
          if (region[i] === 0 || seen++ % step !== 0) continue;
          sum += rgbToLab([img[3 * i], img[3 * i + 1], img[3 * i + 2]])[0];
          n++;
        }
        // Word-aligned (four pixels at a time) and not.
        for (const offset of [0, 1]) {
          const r = new Uint8Array(new ArrayBuffer(region.length + 8), offset, region.length);
          r.set(region);
          const got = meanLightness(img, 3, r, WIDTH, RECT, count, maxSamples);
          assert.ok(Math.abs(got - sum / n) < 0.002, `seed ${seed} maxSamples ${maxSamples} offset ${offset}: ${got} vs ${sum / n}`);
        }
      }
    }
    // Black, white, each primary, near-black: the tables' extremes.
    for (const rgb of [[0, 0, 0] as const, [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [1, 1, 1], [9, 10, 11]]) {
      const img = Uint8Array.from({ length: 12 }, (_, i) => rgb[i % 3]);
      const got = meanLightness(img, 3, new Uint8Array([255, 0, 255, 255]), 2, { x0: 0, y0: 0, x1: 2, y1: 2 }, 3);
      assert.ok(Math.abs(got - rgbToLab([rgb[0], rgb[1], rgb[2]])[0]) < 0.002, `${rgb}: ${got}`);
    }
  });

  it('labAffine with a feather writes what featherAlpha then labAffine write', () => {
    const { img, region } = scene(8, RECT);
    const rnd = generator(88);
    const crop = { x0: RECT.x0 - 2, y0: RECT.y0 - 2, x1: RECT.x1 + 2, y1: RECT.y1 + 2 };
    const blurred = Uint8Array.from({ length: (crop.x1 - crop.x0) * (crop.y1 - crop.y0) }, () => (rnd(3) === 0 ? rnd(256) : 251));
    const affine = { kL: 0.9, oL: 4, m00: 0.3, m01: 0.1, m10: -0.1, m11: 0.3, oa: -12, ob: 20 };
    const twoPasses = img.slice();
    const alpha = region.slice();
    featherAlpha(alpha, WIDTH, blurred, crop, 251);
    labAffine(twoPasses, 3, alpha, WIDTH, RECT, affine);
    const fused = img.slice();
    labAffine(fused, 3, region, WIDTH, RECT, affine, { blurred, crop, flatLevel: 251 });
    assert.notDeepEqual(fused, img);
    assert.deepEqual(fused, twoPasses);
  });

  it('countChanged compares a crop of the original with the image, inside the mask and over the tolerance only', () => {
    for (const channels of [3, 4]) {
      for (let seed = 1; seed <= 4; seed++) {
        const rnd = generator(seed * 31 + channels);
        const { region: mask } = scene(seed, RECT);
        const original = Uint8Array.from({ length: WIDTH * HEIGHT * channels }, () => rnd(256));
        const written = original.slice();
        // Some pixels move in one channel only (the alpha channel included), by up to 4 levels.
        for (let i = 0; i < written.length; i++) if (rnd(9) === 0) written[i] = Math.max(0, Math.min(255, written[i] + rnd(9) - 4));
        const rowBytes = (RECT.x1 - RECT.x0) * channels;
        const crop = new Uint8Array(rowBytes * (RECT.y1 - RECT.y0));
        for (let y = RECT.y0; y < RECT.y1; y++) {
          crop.set(original.subarray((y * WIDTH + RECT.x0) * channels, (y * WIDTH + RECT.x1) * channels), (y - RECT.y0) * rowBytes);
        }
        for (const tolerance of [0, 2]) {
          let want = 0;
          for (let i = 0; i < mask.length; i++) {
            if (mask[i] === 0) continue;
            const channelMoved = (c: number) => Math.abs(original[channels * i + c] - written[channels * i + c]) > tolerance;
            if ([0, 1, 2, 3].slice(0, channels).some(channelMoved)) want++;
          }
          assert.ok(want > 0);
          const what = `channels ${channels} seed ${seed} tolerance ${tolerance}`;
          assert.equal(countChanged(crop, written, channels, mask, tolerance, WIDTH, RECT), want, what);
        }
      }
    }
  });

  it('regionColour samples every step-th region pixel (mask > 127, not protected) in scan order, from the first', () => {
    const rnd = generator(55);
    const { img, region } = scene(5, RECT);
    // Soft mask values and runs of 255 (whole words), a protected block.
    const mask = region.map((v, i) => (v === 0 ? 0 : i % 7 === 0 ? 100 + rnd(156) : 255));
    const protect = new Uint8Array(mask.length);
    for (let y = 10; y < 20; y++) protect.fill(255, y * WIDTH + 20, y * WIDTH + 33);
    const target = rgbToLab([120, 140, 90]);
    let cases = 0;
    for (const withProtect of [false, true]) {
      const inRegion = (i: number) => mask[i] > 127 && !(withProtect && protect[i] !== 0);
      let count = 0;
      for (let i = 0; i < mask.length; i++) if (inRegion(i)) count++;
      for (const maxSamples of [count, 100, 7]) {
        const step = Math.max(1, Math.floor(count / maxSamples));
        let seen = 0;
        const lab = [0, 0, 0];
        let sumE = 0;
        let n = 0;
        for (let i = 0; i < mask.length; i++) {
          if (!inRegion(i) || seen++ % step !== 0) continue;
          const pixel = rgbToLab([img[3 * i], img[3 * i + 1], img[3 * i + 2]]);
          pixel.forEach((v, c) => (lab[c] += v));
          sumE += deltaE2000(pixel, target);
          n++;
        }
        const want = lab.map((v) => Number((v / n).toFixed(2)));
        // A buffer starting `offset` bytes into its memory: 0 takes the four-pixel path, 1 cannot.
        for (const offset of [0, 1]) {
          const m = new Uint8Array(new ArrayBuffer(mask.length + 8), offset, mask.length);
          m.set(mask);
          const p = withProtect ? new Uint8Array(new ArrayBuffer(mask.length + 8), offset, mask.length) : null;
          p?.set(protect);
          const got = regionColour(img, 3, m, p, WIDTH, RECT, count, target, maxSamples);
          const what = `protect ${withProtect} maxSamples ${maxSamples} offset ${offset}`;
          assert.deepEqual(got.meanLab, want, what);
          assert.ok(Math.abs(got.meanDeltaE - sumE / n) < 1e-9, what);
          cases++;
        }
      }
    }
    assert.equal(cases, 12);
  });

  it('featherAlpha maps the blurred region through clamp(2·v·255/flat − 255), inside the region only', () => {
    const { region } = scene(6, RECT);
    const rnd = generator(66);
    const crop = { x0: RECT.x0 - 2, y0: RECT.y0 - 2, x1: RECT.x1 + 2, y1: RECT.y1 + 2 };
    const cw = crop.x1 - crop.x0;
    const blurred = Uint8Array.from({ length: cw * (crop.y1 - crop.y0) }, () => rnd(256));
    for (const flat of [255, 251, 200]) {
      const got = region.slice();
      featherAlpha(got, WIDTH, blurred, crop, flat);
      for (let y = 0; y < HEIGHT; y++) {
        for (let x = 0; x < WIDTH; x++) {
          const i = y * WIDTH + x;
          const inCrop = x >= crop.x0 && x < crop.x1 && y >= crop.y0 && y < crop.y1;
          const want =
            region[i] === 0 || !inCrop
              ? region[i]
              : Math.max(0, Math.min(255, Math.round(blurred[(y - crop.y0) * cw + x - crop.x0] * (510 / flat)) - 255));
          assert.equal(got[i], want, `(${x}, ${y}) flat ${flat}`);
        }
      }
    }
  });
});
