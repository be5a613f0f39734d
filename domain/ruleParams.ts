/** RuleParams: the palette operations a rule applies per region (API.md, "RuleParams"). */
import { z } from 'zod';
import type { Preset } from './presets';

/** A #RRGGBB colour, upper or lower case. */
export const HexColor = z.string().regex(/^#[0-9A-Fa-f]{6}$/, 'expected a #RRGGBB colour');

const concept = z.string().min(1).max(64);

/** Recolor: move chroma/hue (CIELAB a*, b*) and mean L* to the target, keeping shading; `strength` blends. */
export const RecolorOp = z.strictObject({
  concept,
  op: z.literal('recolor'),
  color: HexColor,
  strength: z.number().min(0).max(1).default(1),
});

/** Adjust: brightness/contrast/saturation multipliers and a hue rotation in degrees. */
export const AdjustOp = z.strictObject({
  concept,
  op: z.literal('adjust'),
  brightness: z.number().min(0.2).max(3).default(1),
  contrast: z.number().min(0.2).max(3).default(1),
  saturation: z.number().min(0.2).max(3).default(1),
  hue: z.number().min(-180).max(180).default(0),
});

/** Replace: fill the region with a solid colour. */
export const ReplaceOp = z.strictObject({ concept, op: z.literal('replace'), color: HexColor });

/** Blur: gaussian blur of the region. */
export const BlurOp = z.strictObject({
  concept,
  op: z.literal('blur'),
  sigma: z.number().gt(0).max(50),
});

/** One palette operation. */
export const Operation = z.discriminatedUnion('op', [RecolorOp, AdjustOp, ReplaceOp, BlurOp]);
/** One palette operation (parsed, defaults filled). */
export type Operation = z.output<typeof Operation>;

/** The whole rule: operations applied in order, edges feathered by `feather_px`. */
export const RuleParams = z.strictObject({
  operations: z.array(Operation).min(1).max(16),
  feather_px: z.number().int().min(0).max(32).default(0),
});
/** RuleParams after parsing (defaults filled). */
export type RuleParams = z.output<typeof RuleParams>;
/** RuleParams as a client may send them. */
export type RuleParamsInput = z.input<typeof RuleParams>;

/** A problem found when checking a rule against its preset; `path` points into the request body. */
export interface RuleIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Checks concepts/protect/operations against a preset: ids exist, no duplicates, no id both changed and protected,
 * and every operation's concept is one of the chosen `concepts`. Returns the issues (empty when valid).
 */
export function checkRuleAgainstPreset(
  preset: Preset,
  concepts: readonly string[],
  protect: readonly string[],
  params?: RuleParams,
): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const conceptIds = new Set(preset.concepts.map((c) => c.id));
  const protectIds = new Set(preset.protect.map((p) => p.id));
  concepts.forEach((c, i) => {
    if (!conceptIds.has(c)) issues.push({ path: ['concepts', i], message: `unknown concept '${c}' in preset '${preset.id}'` });
  });
  protect.forEach((p, i) => {
    if (!protectIds.has(p)) issues.push({ path: ['protect', i], message: `unknown protect concept '${p}' in preset '${preset.id}'` });
  });
  if (new Set(concepts).size !== concepts.length) issues.push({ path: ['concepts'], message: 'duplicate concept ids' });
  if (new Set(protect).size !== protect.length) issues.push({ path: ['protect'], message: 'duplicate protect ids' });
  // The region of a concept is its mask minus the protect masks: protecting a changed concept would change nothing.
  const both = protect.filter((p) => concepts.includes(p));
  if (both.length) issues.push({ path: ['protect'], message: `${both.join(', ')} cannot be both changed and protected` });
  params?.operations.forEach((op, i) => {
    if (!concepts.includes(op.concept)) {
      issues.push({ path: ['params', 'operations', i, 'concept'], message: `operation concept '${op.concept}' is not in concepts` });
    }
  });
  return issues;
}

/** The rule a job runs when the user gave none: each chosen concept's preset default operation. */
export function defaultParams(preset: Preset, concepts: readonly string[]): RuleParams {
  const operations = concepts.map((id) => {
    const c = preset.concepts.find((x) => x.id === id);
    if (!c) throw new Error(`unknown concept ${id}`);
    return Operation.parse({ concept: id, ...c.default_operation });
  });
  return RuleParams.parse({ operations, feather_px: 0 });
}
