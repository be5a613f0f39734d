/**
 * sRGB <-> CIELAB (D65 white, IEC 61966-2-1 transfer curve), in double precision. The pixel kernels use table-driven
 * versions of the same formulas (kernels.ts); these exact ones define targets and are what the tests check against.
 */

/** A CIELAB colour [L*, a*, b*]. */
export type Lab = [number, number, number];
/** An 8-bit sRGB colour [r, g, b]. */
export type Rgb = [number, number, number];

/** D65 reference white (CIE 1931 2°), Y normalized to 1. */
export const D65 = { X: 0.95047, Y: 1.0, Z: 1.08883 } as const;

// CIELAB's linear-segment constants: ε = (6/29)^3, the slope 1/(3(6/29)^2) and offset 4/29.
const DELTA = 6 / 29;
const EPSILON = DELTA * DELTA * DELTA;
const SLOPE = 1 / (3 * DELTA * DELTA);

/** [r, g, b] of a #RRGGBB colour. */
export function parseHex(hex: string): Rgb {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** sRGB transfer curve inverse: an 8-bit value to linear light in [0, 1]. */
export function srgbToLinear(v8: number): number {
  const c = v8 / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** sRGB transfer curve: linear light (clamped to [0, 1]) to a real-valued 8-bit code (not rounded). */
export function linearToSrgb(lin: number): number {
  const c = lin <= 0 ? 0 : lin >= 1 ? 1 : lin;
  return 255 * (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
}

/** CIELAB's f(t). */
export function labF(t: number): number {
  return t > EPSILON ? Math.cbrt(t) : t * SLOPE + 4 / 29;
}

/** Inverse of CIELAB's f. */
export function labFInverse(u: number): number {
  return u > DELTA ? u * u * u : (u - 4 / 29) / SLOPE;
}

/** An 8-bit sRGB colour to CIELAB. */
export function rgbToLab([r8, g8, b8]: Rgb): Lab {
  const r = srgbToLinear(r8);
  const g = srgbToLinear(g8);
  const b = srgbToLinear(b8);
  const fx = labF((0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / D65.X);
  const fy = labF(0.2126729 * r + 0.7151522 * g + 0.072175 * b);
  const fz = labF((0.0193339 * r + 0.119192 * g + 0.9503041 * b) / D65.Z);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** A CIELAB colour to 8-bit sRGB (out-of-gamut components clipped, rounded to nearest). */
export function labToRgb([L, a, bb]: Lab): Rgb {
  const fy = (L + 16) / 116;
  const X = D65.X * labFInverse(fy + a / 500);
  const Y = labFInverse(fy);
  const Z = D65.Z * labFInverse(fy - bb / 200);
  const r = 3.2404542 * X - 1.5371385 * Y - 0.4985314 * Z;
  const g = -0.969266 * X + 1.8760108 * Y + 0.041556 * Z;
  const b = 0.0556434 * X - 0.2040259 * Y + 1.0572252 * Z;
  return [Math.round(linearToSrgb(r)), Math.round(linearToSrgb(g)), Math.round(linearToSrgb(b))];
}
