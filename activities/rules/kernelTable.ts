/** The kernels a pool worker can run, by name (the pool's messages carry the name, not code). */
import * as k from './kernels';
import { blurRegionInto, decodeInto } from './imageKernels';
import { resampleMaskBounded } from '../../services/image/maskResample';

/** Name -> kernel function. */
export const KERNELS = {
  unionInto: k.unionInto,
  regionOf: k.regionOf,
  featherAlpha: k.featherAlpha,
  meanLightness: k.meanLightness,
  labAffine: k.labAffine,
  fillColor: k.fillColor,
  blendFrom: k.blendFrom,
  countChanged: k.countChanged,
  coverage: k.coverage,
  regionColour: k.regionColour,
  upsampleMask: resampleMaskBounded,
  decodeInto,
  blurRegionInto,
} as const;

/** A kernel's name. */
export type KernelName = keyof typeof KERNELS;
