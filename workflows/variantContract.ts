/**
 * The variant and export workflows' contract (API.md §17–20): names, ids, inputs, updates, signals and queries.
 * Imported by the API, the workers and the tests; only `@temporalio/workflow` definitions and types live here.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ReserveResult } from '../domain/jobData';
import type { VariantItemInput, VariantRule, VariantState } from '../domain/variantMachine';
import type { OutputFormat } from '../domain/storageKeys';
import type { ExportBuildInput, ExportBuildResult } from '../domain/exports';

/** Workflow type of a variant. */
export const VARIANT_WORKFLOW_TYPE = 'variantWorkflow';
/** Workflow type of an export. */
export const EXPORT_WORKFLOW_TYPE = 'exportWorkflow';

/** The workflow id of variant n of a job: next to the job's own `job-<jobId>` in the Temporal UI. */
export function variantWorkflowId(jobId: string, n: number): string {
  return `job-${jobId}-v${n}`;
}

/** The workflow id of an export. */
export function exportWorkflowId(exportId: string): string {
  return `export-${exportId}`;
}

/** Input of the variant workflow, fixed at start by the API from the done job's mirror. */
export interface VariantInput {
  jobId: string;
  userId: string;
  presetId: string;
  n: number;
  items: VariantItemInput[];
  concepts: string[];
  protect: string[];
  rule: VariantRule;
  outputFormat: OutputFormat;
  /** Credits to reserve (ceil(items / itemsPerCredit) on the user's plan). */
  amount: number;
  itemsPerCredit: number;
  cpuTaskQueue: string;
  maxInFlight: number;
}

/** Update-with-Start target: reserves the variant's credits; a refused variant ends by itself. */
export const reserveVariantUpdate = defineUpdate<ReserveResult>('reserveVariant');
/** Cancel and wait (bounded) until the variant has settled; returns its state. */
export const cancelVariantUpdate = defineUpdate<VariantState>('cancelVariant');
/** Fire-and-forget cancel (Temporal UI, CLI). */
export const cancelVariantSignal = defineSignal('cancelVariant');
/** The variant's current state. */
export const variantStateQuery = defineQuery<VariantState>('variantState');

/** Input of the export workflow: what to build (all keys resolved by the API) and where the mirror row is. */
export interface ExportInput {
  exportId: string;
  userId: string;
  jobId: string;
  build: ExportBuildInput;
  cpuTaskQueue: string;
}

/** What an export workflow returns. */
export type ExportOutcome = { ok: true; result: ExportBuildResult } | { ok: false; error: { code: string; message: string } };
