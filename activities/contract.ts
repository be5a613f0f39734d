/**
 * The CPU activities' contract: what the job workflow sends to `applyRule` on the CPU task queue and what comes
 * back. The workflow imports this module as types only; the CPU worker implements it.
 * Payloads carry storage keys, never image bytes (Temporal's 2 MB blob limit).
 */
import type { ItemChecks, ItemRef } from '../domain/jobData';
import type { RuleParams } from '../domain/ruleParams';
import type { OutputFormat } from '../domain/storageKeys';

/** Input of `applyRule`: the original, the masks from `segment`, and the rule. */
export interface ApplyRuleInput {
  item: ItemRef;
  /** id -> mask key, as returned by `segment`. */
  masks: Record<string, string>;
  concepts: string[];
  protect: string[];
  params: RuleParams;
  /** The result's format (png when absent: jobs executed before output formats existed). */
  outputFormat?: OutputFormat;
  /** 0 (or absent) for the job's own results, n for variant n (compare): where the result and preview go. */
  variant?: number;
}

/** Output of `applyRule`. */
export interface ApplyRuleResult {
  resultKey: string;
  previewKey: string;
  checks: ItemChecks;
}

/** The activities a CPU worker registers. */
export interface CpuActivities {
  applyRule(input: ApplyRuleInput): Promise<ApplyRuleResult>;
}
