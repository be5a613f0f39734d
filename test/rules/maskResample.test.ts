import assert from 'node:assert/strict';
import { resampleMaskBounded, resampleMaskInto } from '../../services/image/maskResample';

/** A deterministic mask of blobs (0/255) with some soft (non-binary) edge values, as older masks may hold. */
function blobs(w: number, h: number, seed: number, soft: boolean): Uint8Array {
  const m = new Uint8Array(w * h);
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % 10_000) / 10_000;
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n; k++) {
    const cx = rnd() * w;
    const cy = rnd() * h;
    const r = 1 + rnd() * Math.min(w, h) * 0.3;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const d = Math.hypot(x - cx, y - cy) - r;
        if (d <= 0) m[y * w + x] = 255;
        else if (soft && d < 1.5) m[y * w + x] = Math.max(m[y * w + x], Math.round(255 * (1 - d / 1.5)));
      }
  }
  return m;
}

/** The definition, pixel by pixel: bilinear (half-pixel centres, edges clamped), then 255 from 127.5 up. */
function bilinearThresholded(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  const out = new Uint8Array(dw * dh);
  const at = (d: number, sn: number, dn: number) => {
    const f = Math.min(sn - 1, Math.max(0, (d + 0.5) * (sn / dn) - 0.5));
    const i0 = Math.floor(f);
    return { i0, i1: Math.min(sn - 1, i0 + 1), w: f - i0 };
  };
  for (let y = 0; y < dh; y++) {
    const ry = at(y, sh, dh);
    for (let x = 0; x < dw; x++) {
      const rx = at(x, sw, dw);
      const [a, b] = [src[ry.i0 * sw + rx.i0], src[ry.i0 * sw + rx.i1]];
      const [c, d] = [src[ry.i1 * sw + rx.i0], src[ry.i1 * sw + rx.i1]];
      const top = a + (b - a) * rx.w;
      const bottom = c + (d - c) * rx.w;
      out[y * dw + x] = top + (bottom - top) * ry.w >= 127.5 ? 255 : 0;
    }
  }
  return out;
}

describe('resampleMaskInto', () => {
  it('is the bilinear-then-threshold definition, pixel for pixel (rows of a group copied, edge runs recomputed)', () => {
    for (const [sw, sh, dw, dh] of [
      [252, 189, 1000, 750],
      [63, 47, 250, 190],
      [10, 7, 37, 29],
      [30, 20, 17, 11],
    ] as const) {
      for (let seed = 1; seed <= 4; seed++) {
        const src = blobs(sw, sh, seed * 104729 + sh, seed % 2 === 1);
        const got = new Uint8Array(dw * dh);
        resampleMaskInto(src, sw, sh, got, dw, dh);
        assert.deepEqual(got, bilinearThresholded(src, sw, sh, dw, dh), `${sw}×${sh} -> ${dw}×${dh}, seed ${seed}`);
      }
    }
  });
});

describe('resampleMaskBounded', () => {
  it('gives the pixels of resampleMaskInto, 0 outside the rectangle it returns', () => {
    const sizes: [number, number, number, number][] = [
      [252, 189, 1000, 750],
      [63, 47, 250, 190],
      [10, 7, 37, 29],
      [40, 40, 40, 40],
      [30, 20, 17, 11],
      [1, 1, 9, 5],
      [30, 30, 9, 9],
      [48, 36, 12, 3],
    ];
    let cases = 0;
    for (const [sw, sh, dw, dh] of sizes) {
      for (let seed = 1; seed <= 6; seed++) {
        const src = blobs(sw, sh, seed * 7919 + sw, seed % 2 === 0);
        const want = new Uint8Array(dw * dh);
        resampleMaskInto(src, sw, sh, want, dw, dh);
        // A recycled shared buffer: stale bytes everywhere, and (odd seeds) a view at an unaligned offset.
        const offset = seed % 2;
        const whole = new Uint8Array(new SharedArrayBuffer(dw * dh + offset + 1)).fill(7);
        const got = whole.subarray(offset, offset + dw * dh);
        const rect = resampleMaskBounded(src, sw, sh, got, dw, dh);
        assert.deepEqual(got, want, `${sw}×${sh} -> ${dw}×${dh}, seed ${seed}`);
        assert.ok(whole[offset + dw * dh] === 7 && (offset === 0 || whole[0] === 7), 'bytes around the view are not written');
        for (let y = 0; y < dh; y++)
          for (let x = 0; x < dw; x++)
            if (x < rect.x0 || x >= rect.x1 || y < rect.y0 || y >= rect.y1) assert.equal(got[y * dw + x], 0, 'outside the rectangle');
        cases++;
      }
    }
    assert.equal(cases, 48);
  });

  it('returns an empty rectangle and an all-0 mask for an empty source, and a tight one for a single pixel', () => {
    const dst = new Uint8Array(40 * 30).fill(9);
    const empty = resampleMaskBounded(new Uint8Array(10 * 10), 10, 10, dst, 40, 30);
    assert.deepEqual(empty, { x0: 0, y0: 0, x1: 0, y1: 0 });
    assert.ok(dst.every((v) => v === 0));
    const one = new Uint8Array(10 * 10);
    one[5 * 10 + 5] = 255;
    const square = new Uint8Array(40 * 40).fill(9);
    const rect = resampleMaskBounded(one, 10, 10, square, 40, 40);
    assert.ok(
      rect.x1 - rect.x0 <= 12 && rect.y1 - rect.y0 <= 12,
      `a single source pixel maps to a few destination pixels: ${JSON.stringify(rect)}`,
    );
    assert.ok(square.some((v) => v === 255));
  });

  it('clears everything when a shrink samples none of the set pixels (a set pixel between destination samples)', () => {
    // 12×12 -> 12×3: the destination rows sample source rows 1–2, 5–6 and 9–10; only row 0 is set.
    const src = new Uint8Array(12 * 12);
    src[2] = 255;
    const want = new Uint8Array(12 * 3);
    resampleMaskInto(src, 12, 12, want, 12, 3);
    assert.ok(
      want.every((v) => v === 0),
      'the definition sets nothing here',
    );
    const got = new Uint8Array(12 * 3).fill(7);
    assert.deepEqual(resampleMaskBounded(src, 12, 12, got, 12, 3), { x0: 0, y0: 0, x1: 0, y1: 0 });
    assert.deepEqual(got, want);
  });
});
