/**
 * Set consistency (API.md "Set consistency"): a set is only a set when the same concept looks the same on every
 * photo. Computed from the per-item mean Lab the checks measured on each written result.
 */
import { deltaE2000 } from './ciede2000';
import type { ItemChecks } from './jobData';
import type { RuleParams } from './ruleParams';

/** One concept's consistency across the done items of a job or variant. */
export interface ConceptSetCheck {
  items: number;
  /** Largest CIEDE2000 between the region means of any two items. */
  max_delta_e: number;
  /** Mean over items of each item's region mean (L*, a*, b*). */
  mean_lab: [number, number, number];
}

/** `set_checks`: concept -> its consistency. */
export type SetChecks = Record<string, ConceptSetCheck>;

/** The concepts whose colour a rule sets (recolor or replace): only those are expected to match across a set. */
export function coloredConcepts(params: RuleParams | null | undefined): string[] {
  return [...new Set((params?.operations ?? []).filter((o) => o.op === 'recolor' || o.op === 'replace').map((o) => o.concept))];
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/** The set checks of done items (items without a measurement for a concept, e.g. an empty mask, are left out). */
export function setChecksOf(
  params: RuleParams | null | undefined,
  items: readonly { status: string; checks?: ItemChecks | null }[],
): SetChecks {
  const out: SetChecks = {};
  for (const concept of coloredConcepts(params)) {
    const labs = items.flatMap((i) => (i.status === 'done' && i.checks?.mean_lab?.[concept] ? [i.checks.mean_lab[concept]] : []));
    if (labs.length === 0) continue;
    let max = 0;
    for (let a = 0; a < labs.length; a++) for (let b = a + 1; b < labs.length; b++) max = Math.max(max, deltaE2000(labs[a], labs[b]));
    const mean = [0, 1, 2].map((k) => labs.reduce((s, l) => s + l[k], 0) / labs.length);
    out[concept] = { items: labs.length, max_delta_e: round(max, 3), mean_lab: [round(mean[0], 2), round(mean[1], 2), round(mean[2], 2)] };
  }
  return out;
}
