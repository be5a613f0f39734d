/**
 * RuleParams operations as CIELAB edits. Both colour operations are affine in CIELAB, so one kernel (labAffine)
 * serves them: recolor sets a* and b* to the target's and moves the region's mean L* to the target's, keeping each
 * pixel's deviation from that mean (its shading); adjust scales L* around the contrast pivot and rotates/scales the
 * chroma plane (a hue rotation in LCh is a rotation of (a*, b*)). `strength` blends original -> recolored linearly.
 */
import type { Lab } from './color';
import type { LabAffine } from './kernels';

/** L* that contrast pivots around (mid-grey). */
export const CONTRAST_PIVOT_L = 50;

/** The edit of `recolor`: target colour in CIELAB, the region's mean L*, strength in [0, 1]. */
export function recolorAffine(target: Lab, meanL: number, strength: number): LabAffine {
  const s = strength;
  return { kL: 1, oL: s * (target[0] - meanL), m00: 1 - s, m01: 0, m10: 0, m11: 1 - s, oa: s * target[1], ob: s * target[2] };
}

/**
 * The edit of `adjust`: L' = contrast·(brightness·L − 50) + 50, chroma × saturation, hue + `hue` degrees. Brightness
 * and saturation are multipliers on L* and C*, as libvips' modulate (sharp.modulate) defines them.
 */
export function adjustAffine(op: { brightness: number; contrast: number; saturation: number; hue: number }): LabAffine {
  const t = (op.hue * Math.PI) / 180;
  const c = Math.cos(t) * op.saturation;
  const s = Math.sin(t) * op.saturation;
  return {
    kL: op.contrast * op.brightness,
    oL: CONTRAST_PIVOT_L * (1 - op.contrast),
    m00: c,
    m01: -s,
    m10: s,
    m11: c,
    oa: 0,
    ob: 0,
  };
}
