/**
 * The item's `checks` (API.md JobView): measured on the decoded result file against the decoded original, never
 * taken from what the renderer meant to do.
 */
import type { RuleParams } from '../../domain/ruleParams';
import type { ItemChecks } from '../../domain/jobData';
import { parseHex, rgbToLab, type Lab } from './color';
import type { KernelPool } from './kernelPool';

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
  for (const [concept, target] of recolorTargets(input.params)) {
    await input.loadMask(concept, scratch);
    const region = await pool.run('regionOf', [scratch, input.protectUnion, width], signal);
    const mean = await pool.run(
      'meanDeltaE',
      [input.written, input.channels, scratch, region.count, target, input.deltaESamples ?? 65536],
      signal,
    );
    delta_e_to_target[concept] = round(mean, 3);
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
  return { protected_changed_px, delta_e_to_target, coverage };
}
