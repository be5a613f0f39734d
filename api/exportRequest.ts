/**
 * Turns a `POST /jobs/{id}/exports` body into the builder's input: every key resolved from the job's and its variants'
 * mirrors, so the CPU worker that builds it reads no database.
 */
import type { z } from 'zod';
import { exportExtension, exportKey } from '../domain/exports';
import { inputKey, type UploadContentType } from '../domain/storageKeys';
import type { RuleParams } from '../domain/ruleParams';
import { setChecksOf } from '../domain/setChecks';
import type { JobItemLog } from '../entities/JobItemLog';
import type { JobLog } from '../entities/JobLog';
import type { JobVariantLog } from '../entities/JobVariantLog';
import type { ExportBuildInput } from '../domain/exports';
import type { CreateExportRequest } from './compareSchemas';

/** A short column label for a rule: its colour operations (`wall #A3B18A`), else its operation names. */
export function ruleLabel(params: RuleParams | null): string {
  const ops = params?.operations ?? [];
  const parts = ops.map((o) => ('color' in o ? `${o.concept} ${o.color}` : `${o.concept} ${o.op}`));
  return parts.slice(0, 2).join(', ') + (parts.length > 2 ? ', …' : '');
}

const extOf = (key: string) => key.slice(key.lastIndexOf('.') + 1);

/** The builder's input for this request on a done job (`source`: the variant exported, null for the job's own). */
export function exportBuildInput(
  req: z.output<typeof CreateExportRequest>,
  exportId: string,
  job: JobLog,
  items: JobItemLog[],
  source: JobVariantLog | null,
  variants: JobVariantLog[],
): ExportBuildInput {
  const done = items.filter((i) => i.status === 'done').sort((a, b) => a.idx - b.idx);
  const original = (idx: number) => inputKey(job.userId, job.id, idx, job.contentType as UploadContentType);
  const resultOf = (v: JobVariantLog | null, idx: number): string | null =>
    v
      ? (v.items?.find((i) => i.idx === idx && i.status === 'done')?.resultKey ?? null)
      : (done.find((i) => i.idx === idx)?.resultKey ?? null);
  const rowsOf = (v: JobVariantLog | null) => done.filter((i) => resultOf(v, i.idx) !== null);
  const base = {
    template: req.template,
    format: req.format,
    targetKey: exportKey(job.userId, job.id, exportId, exportExtension(req.template, req.format)),
    options: req.options,
  };
  const jobLabel = `job: ${ruleLabel(job.params)}`;
  const sourceLabel = source ? `v${source.n}: ${ruleLabel(source.rule.params)}` : jobLabel;
  switch (req.template) {
    case 'zip': {
      const rows = rowsOf(source);
      const files = rows.flatMap((i) => {
        const result = resultOf(source, i.idx)!;
        const masks = req.options.include_masks
          ? Object.entries(i.masks ?? {}).map(([c, k]) => ({ name: `masks/${i.idx}_${c}.png`, key: k }))
          : [];
        return [{ name: `${i.idx}.${extOf(result)}`, key: result }, ...masks];
      });
      const checked = source ? (source.items ?? []) : done.map((i) => ({ idx: i.idx, status: i.status, checks: i.checks as never }));
      const manifest = {
        job: { id: job.id, preset_id: job.presetId, created_at: job.createdAt.toISOString() },
        variant: source?.n ?? 0,
        rule: {
          concepts: job.concepts,
          protect: job.protect,
          params: source ? source.rule.params : job.params,
          rule_id: source?.rule.rule_id,
        },
        items: rows.map((i) => ({
          idx: i.idx,
          file: `${i.idx}.${extOf(resultOf(source, i.idx)!)}`,
          original_file: original(i.idx).slice(original(i.idx).lastIndexOf('/') + 1),
          checks: checked.find((c) => c.idx === i.idx)?.checks ?? null,
        })),
        set_checks: setChecksOf(source ? source.rule.params : job.params, checked as never),
        original_files: Object.fromEntries(rows.map((i) => [i.idx, original(i.idx).slice(original(i.idx).lastIndexOf('/') + 1)])),
      };
      return { ...base, headers: [], rows: [], files, manifest };
    }
    case 'grid':
      return {
        ...base,
        headers: [sourceLabel],
        rows: rowsOf(source).map((i) => ({ idx: i.idx, keys: [resultOf(source, i.idx)] })),
        files: [],
        manifest: null,
      };
    case 'before_after':
      return {
        ...base,
        headers: ['original', sourceLabel],
        rows: rowsOf(source).map((i) => ({ idx: i.idx, keys: [original(i.idx), resultOf(source, i.idx)] })),
        files: [],
        manifest: null,
      };
    case 'compare':
      return {
        ...base,
        headers: ['original', jobLabel, ...variants.map((v) => `v${v.n}: ${ruleLabel(v.rule.params)}`)],
        rows: done.map((i) => ({ idx: i.idx, keys: [original(i.idx), i.resultKey, ...variants.map((v) => resultOf(v, i.idx))] })),
        files: [],
        manifest: null,
      };
  }
}
