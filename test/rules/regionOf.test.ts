/** regionOf against its definition, on word-aligned and unaligned buffers (it reads four pixels at a time when it can). */
import assert from 'node:assert/strict';
import { regionOf, type Rect } from '../../activities/rules/kernels';

/** The definition: 255 where mask > 127 and not protected, else 0; counts and the region's bounding box. */
function reference(mask: Uint8Array, protect: Uint8Array | null, width: number) {
  const out = new Uint8Array(mask.length);
  let count = 0;
  let maskCount = 0;
  let rect: Rect = { x0: width, y0: mask.length, x1: 0, y1: 0 };
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] <= 127) continue;
    maskCount++;
    if (protect && protect[i] !== 0) continue;
    out[i] = 255;
    count++;
    const x = i % width;
    const y = Math.floor(i / width);
    rect = { x0: Math.min(rect.x0, x), y0: Math.min(rect.y0, y), x1: Math.max(rect.x1, x + 1), y1: Math.max(rect.y1, y + 1) };
  }
  return { out, count, maskCount, rect: count === 0 ? { x0: 0, y0: 0, x1: 0, y1: 0 } : rect };
}

/** Runs of 0, 255 and soft values (as older masks may hold), and a protect mask of blocks. */
function masks(width: number, height: number, seed: number): { mask: Uint8Array; protect: Uint8Array } {
  let s = seed;
  const rnd = (n: number) => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n;
  const mask = new Uint8Array(width * height);
  for (let i = 0; i < mask.length;) {
    const run = 1 + rnd(23);
    const v = [0, 255, 255, 0, rnd(256)][rnd(5)];
    mask.fill(v, i, i + run);
    i += run;
  }
  const protect = new Uint8Array(width * height);
  for (let k = 0; k < 6; k++) {
    const x = rnd(width);
    const y = rnd(height);
    for (let yy = y; yy < Math.min(height, y + 1 + rnd(9)); yy++)
      protect.fill(255, yy * width + x, yy * width + Math.min(width, x + 1 + rnd(13)));
  }
  return { mask, protect };
}

describe('regionOf', () => {
  it('matches the definition pixel for pixel, with and without protect, aligned or not', () => {
    let cases = 0;
    for (const [width, height] of [
      [37, 23],
      [64, 16],
      [5, 9],
      [1, 40],
    ] as const) {
      for (let seed = 1; seed <= 5; seed++) {
        const { mask, protect } = masks(width, height, seed * 7919 + width);
        for (const offset of [0, 1, 3]) {
          for (const withProtect of [false, true]) {
            // A buffer starting `offset` bytes into its memory: 0 takes the four-pixel path, 1 and 3 cannot.
            const m = new Uint8Array(new ArrayBuffer(mask.length + 8), offset, mask.length);
            m.set(mask);
            const p = withProtect ? new Uint8Array(new ArrayBuffer(protect.length + 8), offset, protect.length) : null;
            p?.set(protect);
            const want = reference(mask, p, width);
            const got = regionOf(m, p, width);
            const what = `${width}×${height} seed ${seed} offset ${offset} protect ${withProtect}`;
            assert.deepEqual(m, want.out, what);
            assert.deepEqual([got.count, got.maskCount, got.rect], [want.count, want.maskCount, want.rect], what);
            cases++;
          }
        }
      }
    }
    assert.equal(cases, 120);
  });
});
