/**
 * Request and response schemas of the REST contract. The validator and the OpenAPI document both come from these,
 * so the document cannot drift from what the server enforces.
 */
import { z } from 'zod';
import { HexColor, RuleParams } from '../domain/ruleParams';

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
