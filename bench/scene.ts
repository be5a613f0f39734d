/**
 * A deterministic photo-like interior scene for the benchmarks: shaded wall and floor, a window, a sofa, a plant and a
 * person, each painted near its contract-fixture reference colour with lighting gradients and sensor-like noise (so
 * the fixture model segments them, and the rule kernels see realistic, non-flat pixels), plus exact region masks.
 */
import { REFERENCE_COLORS, hexToRgb } from '../scripts/model-fixture/referenceColors';

/** The scene's pixels (RGB, interleaved) and the exact mask of each region (0/255). */
export interface Scene {
  width: number;
  height: number;
  rgb: Uint8Array;
  masks: Record<'wall' | 'floor' | 'window' | 'sofa' | 'plant' | 'person', Uint8Array>;
}

type Region = keyof Scene['masks'];

/** 12 MP: 4000 × 3000, a typical phone photo. */
export const BENCH_SIZE = { width: 4000, height: 3000 } as const;

/** Renders the scene; about 0.3 s for 12 MP. */
export function makeScene(width: number = BENCH_SIZE.width, height: number = BENCH_SIZE.height): Scene {
  const rgb = new Uint8Array(width * height * 3);
  const names: Region[] = ['wall', 'floor', 'window', 'sofa', 'plant', 'person'];
  const masks = Object.fromEntries(names.map((n) => [n, new Uint8Array(width * height)])) as Scene['masks'];
  const base = Object.fromEntries(names.map((n) => [n, hexToRgb(REFERENCE_COLORS[n])])) as Record<Region, [number, number, number]>;
  const horizon = Math.round(height * 0.62);
  let seed = 0x2f6b1d;
  const noise = (): number => {
    // xorshift32: fast, deterministic sensor-like noise in [-6, 6].
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return ((seed >>> 0) % 13) - 6;
  };
  const inEllipse = (x: number, y: number, cx: number, cy: number, rx: number, ry: number): boolean =>
    ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;
  for (let y = 0; y < height; y++) {
    const v = y / height;
    for (let x = 0; x < width; x++) {
      const u = x / width;
      let region: Region = y < horizon ? 'wall' : 'floor';
      if (u > 0.08 && u < 0.3 && v > 0.12 && v < 0.48) region = 'window';
      if (u > 0.45 && u < 0.92 && v > 0.5 && v < 0.8) region = 'sofa';
      if (inEllipse(u, v, 0.2, 0.68, 0.06, 0.14)) region = 'plant';
      if (inEllipse(u, v, 0.62, 0.3, 0.04, 0.06) || (u > 0.57 && u < 0.67 && v > 0.35 && v < 0.82)) region = 'person';
      // Light falls off from the window (left) and with depth; the floor has wood-grain stripes. Shading + noise
      // stay within ±22 per channel, inside the fixture's RGB radius of 40.
      let shade = Math.round(8 - 14 * u + 4 * Math.sin(v * 9));
      if (region === 'floor') shade += Math.round(4 * Math.sin(x / 23 + Math.sin(y / 40) * 3));
      const c = base[region];
      const p = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) rgb[p + k] = Math.max(0, Math.min(255, c[k] + shade + noise()));
      masks[region][y * width + x] = 255;
    }
  }
  return { width, height, rgb, masks };
}
