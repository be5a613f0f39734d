/**
 * Request and response schemas of the REST contract. The validator and the OpenAPI document both come from these,
 * so the document cannot drift from what the server enforces.
 */
import { z } from 'zod';
import { EXPORT_STATUSES, EXPORT_TEMPLATES } from '../domain/exports';
import { HexColor, RuleParams } from '../domain/ruleParams';
import { MAX_UPLOAD_BYTES, OUTPUT_FORMATS } from '../domain/storageKeys';

const id = z.string().min(1).max(64);
const isoTime = z.iso.datetime();
const localized = z.object({ ko: z.string(), en: z.string() });

/** `POST /auth/anon` body: nothing, or `{}`. */
export const AnonRequest = z.strictObject({});

/** Credits as the app shows them. */
export const CreditsView = z.object({ balance: z.int(), reserved: z.int(), available: z.int() });

/** `POST /auth/anon` response. */
export const AnonResponse = z.object({
  token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.int(),
  user: z.object({ id, plan: z.string(), credits: CreditsView }),
});

/** `GET /me` response. */
export const MeResponse = z.object({
  id,
  plan: z.string(),
  created_at: isoTime,
  credits: CreditsView,
  limits: z.object({
    max_active_jobs: z.int(),
    active_jobs: z.int(),
    rule_slots: z.int(),
    rule_slots_used: z.int(),
    max_items_per_job: z.int(),
  }),
});

const DefaultOperation = z.discriminatedUnion('op', [
  z.object({ op: z.literal('recolor'), color: HexColor }),
  z.object({ op: z.literal('replace'), color: HexColor }),
  z.object({ op: z.literal('blur'), sigma: z.number() }),
]);

/** `GET /presets` item. */
export const PresetSummary = z.object({ id, name: localized, concept_count: z.int(), protect_count: z.int() });

/** `GET /presets/{id}` response. */
export const PresetView = z.object({
  id,
  name: localized,
  concepts: z.array(z.object({ id, label: localized, prompt: z.string(), default_operation: DefaultOperation })),
  protect: z.array(z.object({ id, label: localized, prompt: z.string(), default_on: z.boolean() })),
  palette: z.array(z.object({ id, name: localized, hex: HexColor })),
});

const conceptIds = z.array(z.string().min(1).max(64)).max(16);

/** `POST /rules` body. */
export const CreateRuleRequest = z.strictObject({
  name: z.string().trim().min(1).max(100),
  preset_id: id,
  concepts: conceptIds.min(1),
  protect: conceptIds.default([]),
  params: RuleParams,
});

/** `PATCH /rules/{id}` body: any non-empty subset of the create fields. */
export const UpdateRuleRequest = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    preset_id: id,
    concepts: conceptIds.min(1),
    protect: conceptIds,
    params: RuleParams,
  })
  .partial();

/** A saved rule. */
export const RuleView = z.object({
  id,
  name: z.string(),
  preset_id: id,
  concepts: z.array(z.string()),
  protect: z.array(z.string()),
  params: RuleParams,
  created_at: isoTime,
  updated_at: isoTime,
});

/** `DELETE /rules/{id}` response. */
export const DeletedResponse = z.object({ deleted: z.literal(true) });

/** `GET /healthz` response. */
export const HealthResponse = z.object({ status: z.literal('ok') });

/** `GET /readyz` response (also the `details` of its 503). */
export const ReadyResponse = z.object({ status: z.enum(['ready', 'unavailable']), checks: z.record(z.string(), z.string()) });

/** `POST /jobs` body. */
export const CreateJobRequest = z
  .strictObject({
    preset_id: id,
    item_count: z.int().min(1),
    content_type: z.enum(['image/jpeg', 'image/png', 'image/webp']).default('image/jpeg'),
    sizes: z.array(z.int().min(1).max(MAX_UPLOAD_BYTES)).meta({
      description:
        'Byte size of each input, in item order (one per item, each ≤ 25 MiB). Every upload ticket is signed for ' +
        'its exact Content-Length, so the store itself refuses any other size.',
    }),
  })
  .refine((b) => b.sizes.length === b.item_count, { path: ['sizes'], message: 'one size per item (item_count of them)' });

/** `Idempotency-Key` header: 1–128 printable ASCII characters. */
export const IdempotencyKey = z.string().regex(/^[\x20-\x7e]{1,128}$/, '1–128 printable ASCII characters');

/** A result's format (API.md "Output format"). */
export const OutputFormat = z
  .enum(OUTPUT_FORMATS)
  .default('png')
  .meta({
    description:
      'png (default, lossless: pixels outside every region are bit-identical), jpeg (quality 92, no chroma subsampling) or ' +
      'webp (quality 90). With a lossy format `checks.protected_changed_px` counts protected pixels that moved by more ' +
      'than 3 levels in some channel.',
  });

/** `POST /jobs/{id}/execute` body: `rule_id` or inline `params` (or neither: preset defaults). */
export const ExecuteJobRequest = z.strictObject({
  concepts: conceptIds.min(1).optional(),
  protect: conceptIds.optional(),
  rule_id: id.optional(),
  params: RuleParams.optional(),
  output_format: OutputFormat.optional(),
});

/** `GET /jobs` query. */
export const ListJobsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(64).optional(),
});

/** `GET /jobs/{id}` query: which items the JobView lists (a job has up to hundreds). */
export const JobViewQuery = z.strictObject({
  items_offset: z.coerce.number().int().min(0).default(0).describe('index of the first item listed'),
  items_limit: z.coerce.number().int().min(1).max(100).default(100).describe('items listed at most (the job has item_count)'),
});

const StateError = z.object({ code: z.string(), message: z.string() });
const ItemStatus = z.enum(['pending', 'running', 'done', 'failed', 'canceled']);
const JobStatus = z.enum(['created', 'uploaded', 'queued', 'running', 'done', 'failed', 'canceled']);

/** One item of a JobView. */
export const ItemView = z.object({
  idx: z.int(),
  status: ItemStatus,
  error: StateError.nullable(),
  input_url: z.string().nullable(),
  result_url: z.string().nullable(),
  preview_url: z.string().nullable(),
  masks: z.record(z.string(), z.string()),
  checks: z
    .object({
      protected_changed_px: z.int(),
      delta_e_to_target: z.record(z.string(), z.number()),
      coverage: z.record(z.string(), z.number()),
      mean_lab: z
        .record(z.string(), z.tuple([z.number(), z.number(), z.number()]))
        .optional()
        .describe('mean CIELAB of each recolored/replaced region on the written result (set consistency)'),
    })
    .nullable()
    .describe(
      'protected_changed_px counts protected pixels that changed; with a lossy output_format (jpeg, webp) a pixel counts only when a channel moved by more than 3 levels',
    ),
});

/** API.md "Set consistency": per recolored/replaced concept, the items measured, their largest pairwise ΔE00 and mean Lab. */
export const SetChecks = z.record(
  z.string(),
  z.object({ items: z.int(), max_delta_e: z.number(), mean_lab: z.tuple([z.number(), z.number(), z.number()]) }),
);

/** Item counts by status of a job or variant (API.md JobView `progress`). */
const Progress = z.object({
  total: z.int(),
  done: z.int(),
  failed: z.int(),
  running: z.int(),
  pending: z.int(),
  canceled: z.int(),
  percent: z.number(),
});

/** A variant in a JobView's `variants` list. */
export const VariantSummary = z.object({
  n: z.int(),
  status: z.enum(['queued', 'running', 'done', 'failed', 'canceled']),
  progress: Progress,
});

/** One export in a JobView's `exports` list: the fields of ExportView without the download URL. */
export const ExportSummary = z.object({
  id: z.string(),
  template: z.enum(EXPORT_TEMPLATES),
  variant: z.int(),
  status: z.enum(EXPORT_STATUSES),
  created_at: isoTime,
  expires_at: isoTime.describe('until then the same request returns this export, and its download URL stays valid'),
});

/** API.md JobView. */
export const JobView = z.object({
  id,
  status: JobStatus,
  preset_id: id,
  item_count: z.int(),
  progress: Progress,
  credits: z.object({ reserved: z.int(), charged: z.int(), refunded: z.int() }),
  error: StateError.nullable(),
  created_at: isoTime,
  updated_at: isoTime,
  finished_at: isoTime.nullable(),
  items: z.array(ItemView),
  set_checks: SetChecks,
  variants: z.array(VariantSummary),
  exports: z
    .array(ExportSummary)
    .describe(
      'the job’s last 20 exports, newest first (GET /jobs/{id}/exports/{exportId} for the download URL; older ones stay readable there)',
    ),
});

/** A presigned upload of one item. */
export const UploadTicket = z.object({
  idx: z.int(),
  method: z.literal('PUT'),
  url: z.string(),
  headers: z.record(z.string(), z.string()).meta({
    description:
      'Send exactly these headers (they are signed): Content-Type, Content-Length (the declared size) and ' +
      'If-None-Match: * — an input is written once; a second PUT, or a PUT after POST /jobs/{id}/cancel, gets 412.',
  }),
  key: z.string(),
  expires_at: isoTime,
});

/** `POST /jobs` response. */
export const CreateJobResponse = z.object({ job: JobView, uploads: z.array(UploadTicket) });

/** `GET /jobs` response: newest first; pass `next_cursor` as `cursor` for the next page. */
export const JobListResponse = z.object({
  items: z.array(JobView.omit({ items: true, set_checks: true, variants: true })),
  next_cursor: z.string().nullable(),
});

/** `POST /jobs/{id}/callback` body (serverless GPU providers; HMAC-signed). */
export const CallbackRequest = z.strictObject({
  task_token: z.string().min(1).max(8192),
  idx: z.int().min(0),
  status: z.enum(['done', 'failed']),
  result: z.record(z.string(), z.unknown()).optional(),
  error: z.strictObject({ code: z.string().max(64), message: z.string().max(500) }).optional(),
});

/** `POST /jobs/{id}/callback` response. */
export const CallbackResponse = z.object({ accepted: z.boolean(), duplicate: z.boolean() });
