/** Turns a `POST /jobs/{id}/execute` body into the workflow's ExecuteInput, validated against the job's preset. */
import type { z } from 'zod';
import { findPreset, promptFor, type Preset } from '../domain/presets';
import { checkRuleAgainstPreset, defaultParams, type RuleParams } from '../domain/ruleParams';
import type { JobLog } from '../entities/JobLog';
import type { Rule } from '../entities/Rule';
import type { ExecuteInput } from '../workflows/contract';
import { notFound } from './errors';
import type { ExecuteJobRequest } from './schemas';
import { validationError } from './validate';

/** Finds a saved rule of a user (null when there is none, or it is another user's). */
export type RuleLookup = (ruleId: string, userId: string) => Promise<Pick<Rule, 'presetId' | 'concepts' | 'protect' | 'params'> | null>;

/**
 * `rule_id` and inline `params` are exclusive; with neither, each concept's preset default applies. Omitted
 * `concepts`/`protect` come from the rule, else protect defaults to the preset's `default_on` concepts.
 */
export async function resolveExecute(
  findRule: RuleLookup,
  job: Pick<JobLog, 'userId' | 'presetId'>,
  input: z.output<typeof ExecuteJobRequest>,
): Promise<ExecuteInput> {
  if (input.rule_id !== undefined && input.params !== undefined) {
    throw validationError([{ path: ['rule_id'], message: 'give either rule_id or params, not both' }]);
  }
  const preset = findPreset(job.presetId) as Preset; // the job was created with a known preset
  let concepts = input.concepts;
  let protect = input.protect;
  let params: RuleParams | undefined = input.params;
  if (input.rule_id !== undefined) {
    const rule = await findRule(input.rule_id, job.userId);
    if (!rule) throw notFound(`rule '${input.rule_id}'`);
    if (rule.presetId !== job.presetId) {
      throw validationError([{ path: ['rule_id'], message: `rule is for preset '${rule.presetId}', the job is '${job.presetId}'` }]);
    }
    concepts ??= rule.concepts;
    protect ??= rule.protect;
    params = rule.params;
  }
  if (!concepts) throw validationError([{ path: ['concepts'], message: 'required unless rule_id is given' }]);
  // A concept the user chose to change is never protected by default (seller: `product` is both).
  protect ??= preset.protect.filter((p) => p.default_on && !concepts!.includes(p.id)).map((p) => p.id);
  const issues = checkRuleAgainstPreset(preset, concepts, protect, params);
  if (issues.length) throw validationError(issues);
  params ??= defaultParams(preset, concepts);
  const refs = (ids: string[]) => ids.map((id) => ({ id, prompt: promptFor(preset, id) as string }));
  return { concepts: refs(concepts), protect: refs(protect), params, outputFormat: input.output_format ?? 'png' };
}
