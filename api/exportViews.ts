/** The export fields shared by ExportView (API.md §19–20) and the `exports` list of a JobView. */
import type { z } from 'zod';
import type { DataSource } from 'typeorm';
import type { ExportTemplate } from '../domain/exports';
import { JobExportLog } from '../entities/JobExportLog';
import type { ExportSummary } from './schemas';

/** How many exports a JobView lists: the newest; older ones stay readable by id. */
export const JOB_VIEW_EXPORTS = 20;

/** Until when the same request returns this export (an export lives as long as one download URL). */
export function exportExpiresAt(row: Pick<JobExportLog, 'createdAt'>, lifetimeMs: number): Date {
  return new Date(row.createdAt.getTime() + lifetimeMs);
}

/** An export as a JobView lists it (no download URL: `GET /jobs/{id}/exports/{exportId}` presigns one). */
export function exportSummary(row: JobExportLog, lifetimeMs: number): z.input<typeof ExportSummary> {
  return {
    id: row.id,
    template: row.template as ExportTemplate,
    variant: row.variant,
    status: row.status,
    created_at: row.createdAt.toISOString(),
    expires_at: exportExpiresAt(row, lifetimeMs).toISOString(),
  };
}

/** The `exports` list of a JobView: the job's newest JOB_VIEW_EXPORTS exports (one query on idx_exports_job). */
export async function exportSummaries(ds: DataSource, jobId: string, lifetimeMs: number): Promise<z.input<typeof ExportSummary>[]> {
  const rows = await ds.getRepository(JobExportLog).find({
    where: { jobId },
    order: { createdAt: 'DESC', id: 'DESC' },
    take: JOB_VIEW_EXPORTS,
  });
  return rows.map((r) => exportSummary(r, lifetimeMs));
}
