/**
 * The item's `checks` (API.md JobView): measured on the decoded result file against the decoded original, never
 * taken from what the renderer meant to do.
 */
import type { RuleParams } from '../../domain/ruleParams';
import type { ItemChecks } from '../../domain/jobData';
import { parseHex, rgbToLab, type Lab } from './color';
import type { KernelPool } from './kernelPool';
import { coloredConcepts } from '../../domain/setChecks';

/** Inputs of the measurement; images share one layout (width × height × channels), arrays are shared memory. */
export interface ChecksInput {
  original: Uint8Array;
  written: Uint8Array;
  width: number;
  height: number;
  channels: number;
  protectUnion: Uint8Array | null;
  params: RuleParams;
  /** Every concept and protect id, for coverage. */
  ids: readonly string[];
  /** Coverage already counted while rendering. */
  knownCoverage: ReadonlyMap<string, number>;
  loadMask(id: string, into: Uint8Array): Promise<void>;
  /** A width × height shared scratch buffer. */
  scratch: Uint8Array;
  pool: KernelPool;
  signal?: AbortSignal;
  /** Most pixels sampled per region for the mean ΔE00 (default 65536). */
  deltaESamples?: number;
  /** Levels per channel a protected pixel may move and still count as unchanged (lossy outputs: 3, else 0). */
  protectTolerance?: number;
}

/** The recolor target of each concept (its last recolor operation). */
export function recolorTargets(params: RuleParams): Map<string, Lab> {
  const targets = new Map<string, Lab>();
  for (const op of params.operations) if (op.op === 'recolor') targets.set(op.concept, rgbToLab(parseHex(op.color)));
  return targets;
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/** Measures protected pixels changed, mean ΔE00 of each recolored region to its target, and mask coverage. */
export async function measureChecks(input: ChecksInput): Promise<ItemChecks> {
  const { pool, signal, scratch, width } = input;
  const protected_changed_px = input.protectUnion
    ? await pool.run(
        'countChanged',
        [input.original, input.written, input.channels, input.protectUnion, input.protectTolerance ?? 0],
        signal,
      )
    : 0;

  const delta_e_to_target: Record<string, number> = {};
  const mean_lab: Record<string, [number, number, number]> = {};
  const targets = recolorTargets(input.params);
  for (const concept of new Set([...targets.keys(), ...coloredConcepts(input.params)])) {
    await input.loadMask(concept, scratch);
    const region = await pool.run('regionOf', [scratch, input.protectUnion, width], signal);
    const target = targets.get(concept);
    if (target) {
      const mean = await pool.run(
        'meanDeltaE',
        [input.written, input.channels, scratch, region.count, target, input.deltaESamples ?? 65536],
        signal,
      );
      delta_e_to_target[concept] = round(mean, 3);
    }
    // An empty region has no colour: the set checks leave that item out for this concept.
    if (region.count > 0) mean_lab[concept] = meanLab(input.written, input.channels, scratch, region.count, input.deltaESamples ?? 65536);
  }

  const coverage: Record<string, number> = {};
  for (const id of new Set(input.ids)) {
    let value = input.knownCoverage.get(id);
    if (value === undefined) {
      await input.loadMask(id, scratch);
      value = await pool.run('coverage', [scratch], signal);
    }
    coverage[id] = round(value, 6);
  }
  return { protected_changed_px, delta_e_to_target, coverage, mean_lab };
}

/**
 * Mean CIELAB of a region (255 in `region`) of the written pixels, over at most `maxSamples` evenly strided pixels:
 * the per-pixel Lab mean, so shading averages the way the eye compares two photos' walls.
 */
export function meanLab(
  img: Uint8Array,
  channels: number,
  region: Uint8Array,
  count: number,
  maxSamples: number,
): [number, number, number] {
  const step = Math.max(1, Math.floor(count / maxSamples));
  let seen = 0;
  let n = 0;
  const sum = [0, 0, 0];
  for (let i = 0; i < region.length; i++) {
    if (region[i] === 0 || seen++ % step !== 0) continue;
    const p = i * channels;
    const lab = rgbToLab([img[p], img[p + 1], img[p + 2]]);
    sum[0] += lab[0];
    sum[1] += lab[1];
    sum[2] += lab[2];
    n++;
  }
  return [round(sum[0] / n, 2), round(sum[1] / n, 2), round(sum[2] / n, 2)];
}
