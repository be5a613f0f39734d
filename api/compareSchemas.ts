/** Request and response schemas of variants (compare) and exports (API.md §17–20). */
import { z } from 'zod';
import { EXPORT_STATUSES, EXPORT_TEMPLATES, SHEET_FORMATS } from '../domain/exports';
import { HexColor, RuleParams } from '../domain/ruleParams';
import { OUTPUT_FORMATS } from '../domain/storageKeys';
import { VARIANT_STATUSES } from '../domain/variantMachine';
import { ItemView, OutputFormat, SetChecks, VariantSummary } from './schemas';

const isoTime = z.iso.datetime();

/** `POST /jobs/{id}/variants` body: `rule_id` or inline `params` (exactly one). */
export const CreateVariantRequest = z.strictObject({
  rule_id: z.string().min(1).max(64).optional(),
  params: RuleParams.optional(),
  output_format: OutputFormat,
});

/** API.md VariantView. */
export const VariantView = z.object({
  n: z.int(),
  job_id: z.string(),
  status: z.enum(VARIANT_STATUSES),
  rule: z.object({ rule_id: z.string().optional(), params: RuleParams }),
  output_format: z.enum(OUTPUT_FORMATS),
  progress: VariantSummary.shape.progress,
  credits: z.object({ reserved: z.int(), charged: z.int(), refunded: z.int() }),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  items: z.array(ItemView.pick({ idx: true, status: true, error: true, result_url: true, preview_url: true, checks: true })),
  set_checks: SetChecks,
  created_at: isoTime,
  finished_at: isoTime.nullable(),
});

/** `POST /jobs/{id}/exports` options, defaults applied. */
export const ExportOptionsSchema = z.strictObject({
  columns: z.int().min(1).max(16).default(3),
  max_side: z
    .int()
    .min(256)
    .max(16384)
    .default(4096)
    .describe(
      'long side of a grid/before_after/compare sheet in px; cells shrink to fit, down to 8 px wide: a set too large for that → 400 VALIDATION_ERROR on options.max_side, with the size it needs',
    ),
  background: HexColor.default('#FFFFFF'),
  include_masks: z.boolean().default(false),
  labels: z.boolean().default(true),
});

/** `POST /jobs/{id}/exports` body. */
export const CreateExportRequest = z.strictObject({
  template: z.enum(EXPORT_TEMPLATES),
  variant: z.int().min(0).default(0).describe('0: the job’s own results; n ≥ 1: done variant n (zip, grid, before_after)'),
  format: z.enum(SHEET_FORMATS).default('jpeg').describe('image format of grid, before_after and compare'),
  options: ExportOptionsSchema.default({ columns: 3, max_side: 4096, background: '#FFFFFF', include_masks: false, labels: true }),
});

/** API.md ExportView. */
export const ExportView = z.object({
  id: z.string(),
  job_id: z.string(),
  template: z.enum(EXPORT_TEMPLATES),
  variant: z.int(),
  format: z.string(),
  status: z.enum(EXPORT_STATUSES),
  download_url: z.string().nullable(),
  bytes: z.int().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  expires_at: isoTime.describe('until then the same request returns this export, and download_url stays valid'),
  created_at: isoTime,
  finished_at: isoTime.nullable(),
});
