/**
 * The item's `checks` (API.md JobView): measured on the decoded result file against the decoded original (its
 * protected part), never taken from what the renderer meant to do.
 */
import type { RuleParams } from '../../domain/ruleParams';
import type { ItemChecks } from '../../domain/jobData';
import { parseHex, rgbToLab, type Lab } from './color';
import type { KernelPool } from './kernelPool';
import type { Rect } from './kernels';
import { coloredConcepts } from '../../domain/setChecks';

/** Inputs of the measurement; images share one layout (width × height × channels), arrays are shared memory. */
export interface ChecksInput {
  /** The original's pixels inside protectRect (a crop, rows of its width), or null without protect concepts. */
  protectOriginal: Uint8Array | null;
  written: Uint8Array;
  width: number;
  height: number;
  channels: number;
  protectUnion: Uint8Array | null;
  /** Where protectUnion may be set (0 outside). */
  protectRect: Rect;
  params: RuleParams;
  /** Every concept and protect id, for coverage. */
  ids: readonly string[];
  /** Coverage already counted while rendering. */
  knownCoverage: ReadonlyMap<string, number>;
  /** Region pixel counts of the operations' concepts, from rendering. */
  regionCounts: ReadonlyMap<string, number>;
  /** The mask of a concept or protect id (width × height, shared, read only) and the rectangle outside which it is 0. */
  maskOf(id: string): Promise<{ mask: Uint8Array; rect: Rect }>;
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
  const { pool, signal, width } = input;
  const { protectUnion, protectOriginal, protectRect } = input;
  const protected_changed_px =
    protectUnion && protectOriginal
      ? await pool.run(
          'countChanged',
          [protectOriginal, input.written, input.channels, protectUnion, input.protectTolerance ?? 0, width, protectRect],
          signal,
        )
      : 0;

  const delta_e_to_target: Record<string, number> = {};
  const mean_lab: Record<string, [number, number, number]> = {};
  const targets = recolorTargets(input.params);
  for (const concept of new Set([...targets.keys(), ...coloredConcepts(input.params)])) {
    // Every recolored or replaced concept is an operation's: its region (mask minus protect) was counted rendering.
    const count = input.regionCounts.get(concept);
    if (count === undefined) throw new Error(`no region count for '${concept}'`);
    const { mask, rect } = await input.maskOf(concept);
    const target = targets.get(concept) ?? null;
    const colour = await pool.run(
      'regionColour',
      [input.written, input.channels, mask, protectUnion, width, rect, count, target, input.deltaESamples ?? 65536],
      signal,
    );
    if (target) delta_e_to_target[concept] = round(colour.meanDeltaE, 3);
    // An empty region has no colour: the set checks leave that item out for this concept.
    if (count > 0) mean_lab[concept] = colour.meanLab;
  }

  const coverage: Record<string, number> = {};
  for (const id of new Set(input.ids)) {
    let value = input.knownCoverage.get(id);
    if (value === undefined) {
      const { mask, rect } = await input.maskOf(id);
      value = await pool.run('coverage', [mask, width, rect], signal);
    }
    coverage[id] = round(value, 6);
  }
  return { protected_changed_px, delta_e_to_target, coverage, mean_lab };
}
