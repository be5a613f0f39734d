/**
 * The stand-in GPU's cost model: SAM3 at 1008² on an H200 (bf16, issue 13 / DESIGN.md), per image, by batch size.
 * Image encoder 24.5 ms at batch 1 and 20.1 at 16; decoder 20.3 ms per prompt at 1, 6.95 at 4, 4.31 at 8 and 3.21 at
 * 16. Between measured sizes the per-image cost is interpolated linearly in log2(batch); beyond 16 it stays at 16's.
 */

/** [batch size, ms per image] of the image encoder. */
export const ENCODER_CURVE: readonly [number, number][] = [
  [1, 24.5],
  [16, 20.1],
];
/** [batch size, ms per image and prompt] of the decoder. */
export const DECODER_CURVE: readonly [number, number][] = [
  [1, 20.3],
  [4, 6.95],
  [8, 4.31],
  [16, 3.21],
];

/** The per-image cost at batch `n` on `curve` (log2-linear between points, flat outside). */
export function perImageMs(curve: readonly [number, number][], n: number): number {
  if (n <= curve[0][0]) return curve[0][1];
  for (let i = 1; i < curve.length; i++) {
    const [b0, c0] = curve[i - 1];
    const [b1, c1] = curve[i];
    if (n <= b1) return c0 + ((c1 - c0) * (Math.log2(n) - Math.log2(b0))) / (Math.log2(b1) - Math.log2(b0));
  }
  return curve[curve.length - 1][1];
}

/** GPU time of one batch: `n` images encoded together, then one decoder call per prompt over the `n` images. */
export function batchCostMs(n: number, prompts: number): number {
  return n * (perImageMs(ENCODER_CURVE, n) + prompts * perImageMs(DECODER_CURVE, n));
}

/** Items per second one GPU sustains at full batches of `n` with `prompts` prompts each. */
export function gpuItemsPerS(n: number, prompts: number): number {
  return (1000 * n) / batchCostMs(n, prompts);
}
