/** Mask resampling shared by the segmenter and the rule kernels: pure, no native modules (it runs in kernel threads). */

/**
 * A mask resampled into `dst` (dw × dh): bilinear, half-pixel centres, re-binarized at half (as the SAM3 decoders
 * upsample their own low-resolution masks). Masks are stored at the model's working resolution, so the CPU worker
 * runs this once per mask per item on a kernel thread; where all four source neighbours agree it only copies.
 */
export function resampleMaskInto(src: Uint8Array, sw: number, sh: number, dst: Uint8Array, dw: number, dh: number): void {
  const fx = sw / dw;
  const fy = sh / dh;
  const x0 = new Int32Array(dw);
  const x1 = new Int32Array(dw);
  const wx = new Float64Array(dw);
  for (let x = 0; x < dw; x++) {
    const f = Math.min(sw - 1, Math.max(0, (x + 0.5) * fx - 0.5));
    x0[x] = Math.floor(f);
    x1[x] = Math.min(sw - 1, x0[x] + 1);
    wx[x] = f - x0[x];
  }
  for (let y = 0; y < dh; y++) {
    const f = Math.min(sh - 1, Math.max(0, (y + 0.5) * fy - 0.5));
    const r0 = Math.floor(f) * sw;
    const r1 = Math.min(sh - 1, Math.floor(f) + 1) * sw;
    const wy = f - Math.floor(f);
    const row = y * dw;
    for (let x = 0; x < dw; x++) {
      const a = src[r0 + x0[x]];
      const b = src[r0 + x1[x]];
      const c = src[r1 + x0[x]];
      const d = src[r1 + x1[x]];
      if (a === b && a === c && a === d) {
        dst[row + x] = a > 127 ? 255 : 0;
        continue;
      }
      const top = a + (b - a) * wx[x];
      const bottom = c + (d - c) * wx[x];
      dst[row + x] = top + (bottom - top) * wy >= 127.5 ? 255 : 0;
    }
  }
}

/** `resampleMaskInto` into a new buffer. */
export function resampleMask(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  const dst = new Uint8Array(dw * dh);
  resampleMaskInto(src, sw, sh, dst, dw, dh);
  return dst;
}
