/** VariantView (API.md §17) from the variant workflow's state or its DB mirror, and the JobView's `variants` list. */
import type { z } from 'zod';
import type { DataSource } from 'typeorm';
import { progressOf } from '../domain/jobMachine';
import { setChecksOf } from '../domain/setChecks';
import type { OutputFormat } from '../domain/storageKeys';
import type { VariantState } from '../domain/variantMachine';
import type { JobVariantLog } from '../entities/JobVariantLog';
import type { Storage } from '../services/storage';
import type { VariantView } from './compareSchemas';
import type { VariantSummary } from './schemas';

/** A variant's state from its mirror row (items never flushed are pending while it runs). */
export function variantStateFromLog(row: JobVariantLog): VariantState {
  const items = row.items ?? [];
  return {
    jobId: row.jobId,
    userId: row.userId,
    n: row.n,
    status: row.status,
    rule: row.rule,
    outputFormat: row.outputFormat as OutputFormat,
    progress: progressOf(items.length, (s) => items.filter((i) => i.status === s).length),
    credits: { reserved: row.creditsReserved, charged: row.creditsCharged, refunded: row.creditsRefunded },
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
    items,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

/** The VariantView with freshly presigned URLs. */
export async function variantView(s: VariantState, storage: Storage, ttl: number): Promise<z.input<typeof VariantView>> {
  const url = (key: string | undefined) => (key ? storage.presignGet(key, ttl) : Promise.resolve(null));
  return {
    n: s.n,
    job_id: s.jobId,
    status: s.status,
    rule: s.rule,
    output_format: s.outputFormat,
    progress: s.progress,
    credits: s.credits,
    error: s.error,
    items: await Promise.all(
      s.items.map(async (i) => ({
        idx: i.idx,
        status: i.status,
        error: i.error ?? null,
        result_url: await url(i.resultKey),
        preview_url: await url(i.previewKey),
        checks: i.checks ?? null,
      })),
    ),
    set_checks: setChecksOf(s.rule.params, s.items),
    created_at: s.createdAt,
    finished_at: s.finishedAt,
  };
}

/** The `variants` list of a JobView: every variant that reserved its credits, from the mirror (one raw query). */
export async function variantSummaries(ds: DataSource, jobId: string): Promise<z.input<typeof VariantSummary>[]> {
  const rows: { n: number | string; status: VariantState['status']; credits_reserved: number | string; items: unknown }[] = await ds.query(
    'SELECT n, status, credits_reserved, items FROM job_variants_log WHERE job_id = ? ORDER BY n',
    [jobId],
  );
  return rows
    .filter((r) => Number(r.credits_reserved) > 0 || r.status !== 'queued')
    .map((r) => {
      const items = ((typeof r.items === 'string' ? JSON.parse(r.items) : r.items) ?? []) as VariantState['items'];
      return { n: Number(r.n), status: r.status, progress: progressOf(items.length, (s) => items.filter((i) => i.status === s).length) };
    });
}
