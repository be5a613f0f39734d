/** Mask resampling shared by the segmenter and the rule kernels: pure, no native modules (it runs in kernel threads). */
import { zeroFill } from '../sharedMemory';

/**
 * A mask resampled into `dst` (dw × dh): bilinear, half-pixel centres, re-binarized at half (as the SAM3 decoders
 * upsample their own low-resolution masks). Masks are stored at the model's working resolution, so the CPU worker
 * runs this once per mask per item on a kernel thread; where all four source neighbours agree it only fills.
 */
export function resampleMaskInto(src: Uint8Array, sw: number, sh: number, dst: Uint8Array, dw: number, dh: number): void {
  resampleRect(src, sw, sh, dst, dw, dh, axis(sw, dw), axis(sh, dh), { x0: 0, y0: 0, x1: dw, y1: dh });
}

/** A pixel rectangle [x0, x1) × [y0, y1). */
export interface MaskRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * `resampleMaskInto`, computed only where the result can be set: a destination pixel is 255 only if one of its four
 * source neighbours is above 127 (an interpolation of values ≤ 127 stays below 127.5), so everything outside the
 * source's set pixels' bounding box, mapped up, is 0 without being computed. Same pixels as `resampleMaskInto`; returns
 * that rectangle (empty when nothing is set, or when a shrink samples none of the set pixels), outside which `dst` is all 0.
 */
export function resampleMaskBounded(src: Uint8Array, sw: number, sh: number, dst: Uint8Array, dw: number, dh: number): MaskRect {
  let bx0 = sw;
  let by0 = sh;
  let bx1 = 0;
  let by1 = 0;
  for (let y = 0; y < sh; y++) {
    const row = y * sw;
    let first = -1;
    let last = -1;
    for (let x = 0; x < sw; x++) {
      if (src[row + x] > 127) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    if (first < bx0) bx0 = first;
    if (last + 1 > bx1) bx1 = last + 1;
    if (y < by0) by0 = y;
    by1 = y + 1;
  }
  if (bx1 === 0) {
    zeroFill(dst, 0, dw * dh);
    return { x0: 0, y0: 0, x1: 0, y1: 0 };
  }
  const xs = axis(sw, dw);
  const ys = axis(sh, dh);
  const rect = { x0: xs.first(bx0), y0: ys.first(by0), x1: xs.last(bx1), y1: ys.last(by1) };
  // Shrinking several times over can leave set source pixels between destination samples: nothing is set.
  if (rect.x0 >= rect.x1 || rect.y0 >= rect.y1) {
    zeroFill(dst, 0, dw * dh);
    return { x0: 0, y0: 0, x1: 0, y1: 0 };
  }
  // resampleRect writes every pixel of the rectangle: only the rest is cleared (dst is a recycled buffer).
  zeroFill(dst, 0, rect.y0 * dw + rect.x0);
  for (let y = rect.y0; y < rect.y1 - 1; y++) zeroFill(dst, y * dw + rect.x1, (y + 1) * dw + rect.x0);
  zeroFill(dst, (rect.y1 - 1) * dw + rect.x1, dw * dh);
  resampleRect(src, sw, sh, dst, dw, dh, xs, ys, rect);
  return rect;
}

/** Where each destination column (or row) samples the source: neighbours i0/i1 and the weight of i1. */
interface Axis {
  i0: Int32Array;
  i1: Int32Array;
  w: Float64Array;
  /** The first destination index whose neighbours reach source index `s` or beyond. */
  first(s: number): number;
  /** One past the last destination index whose neighbours include a source index below `end`. */
  last(end: number): number;
}

function axis(sn: number, dn: number): Axis {
  const scale = sn / dn;
  const i0 = new Int32Array(dn);
  const i1 = new Int32Array(dn);
  const w = new Float64Array(dn);
  for (let d = 0; d < dn; d++) {
    const f = Math.min(sn - 1, Math.max(0, (d + 0.5) * scale - 0.5));
    i0[d] = Math.floor(f);
    i1[d] = Math.min(sn - 1, i0[d] + 1);
    w[d] = f - i0[d];
  }
  // i0 and i1 never decrease with d, so the destinations touching a source range are one run.
  return {
    i0,
    i1,
    w,
    first(s) {
      let d = 0;
      while (d < dn && i1[d] < s) d++;
      return d;
    },
    last(end) {
      let d = dn;
      while (d > 0 && i0[d - 1] >= end) d--;
      return d;
    },
  };
}

function resampleRect(
  src: Uint8Array,
  sw: number,
  sh: number,
  dst: Uint8Array,
  dw: number,
  dh: number,
  xs: Axis,
  ys: Axis,
  r: MaskRect,
): void {
  const { i0: x0, i1: x1, w: wx } = xs;
  // Destination columns come in runs sharing both source columns (x0 and x1 change together): where the four
  // source pixels of a run agree, the whole run is that value without interpolating.
  const runs: number[] = [];
  for (let x = r.x0; x < r.x1;) {
    runs.push(x);
    let end = x + 1;
    while (end < r.x1 && x0[end] === x0[x]) end++;
    x = end;
  }
  runs.push(r.x1);
  // Destination rows come in groups sampling the same two source rows; they differ only in the runs whose four
  // source pixels disagree (the mask's edges). The first row of a group is computed, the others copy it and
  // interpolate those runs again with their own row weight.
  const mixed = new Int32Array(runs.length);
  let nMixed = 0;
  let groupR0 = -1;
  let groupR1 = -1;
  for (let y = r.y0; y < r.y1; y++) {
    const r0 = ys.i0[y] * sw;
    const r1 = ys.i1[y] * sw;
    const wy = ys.w[y];
    const row = y * dw;
    const sameGroup = r0 === groupR0 && r1 === groupR1;
    if (sameGroup) dst.copyWithin(row + r.x0, row - dw + r.x0, row - dw + r.x1);
    else {
      groupR0 = r0;
      groupR1 = r1;
      nMixed = 0;
    }
    const count = sameGroup ? nMixed : runs.length - 1;
    for (let m = 0; m < count; m++) {
      const k = sameGroup ? mixed[m] : m;
      const x = runs[k];
      const end = runs[k + 1];
      const s0 = x0[x];
      const s1 = x1[x];
      const a = src[r0 + s0];
      const b = src[r0 + s1];
      const c = src[r1 + s0];
      const d = src[r1 + s1];
      if (!sameGroup && a === b && a === c && a === d) {
        const v = a > 127 ? 255 : 0;
        for (let i = row + x, stop = row + end; i < stop; i++) dst[i] = v;
        continue;
      }
      if (!sameGroup) mixed[nMixed++] = k;
      for (let q = x; q < end; q++) {
        const top = a + (b - a) * wx[q];
        const bottom = c + (d - c) * wx[q];
        dst[row + q] = top + (bottom - top) * wy >= 127.5 ? 255 : 0;
      }
    }
  }
}

/** `resampleMaskInto` into a new buffer. */
export function resampleMask(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  const dst = new Uint8Array(dw * dh);
  resampleMaskInto(src, sw, sh, dst, dw, dh);
  return dst;
}
