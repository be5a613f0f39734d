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

/**
 * The `exports` list of a JobView: the job's newest JOB_VIEW_EXPORTS exports. It runs on every GET /jobs/{id}, so a
 * fixed statement (on idx_exports_job) with the columns hydrated by the driver as find() would, without building the
 * query through TypeORM's query builder each time.
 */
export async function exportSummaries(ds: DataSource, jobId: string, lifetimeMs: number): Promise<z.input<typeof ExportSummary>[]> {
  const meta = ds.getMetadata(JobExportLog);
  const columns = (['id', 'template', 'variant', 'status', 'createdAt'] as const).map((p) => meta.findColumnWithPropertyName(p)!);
  const col = (p: string) => ds.driver.escape(meta.findColumnWithPropertyName(p)!.databaseName);
  const rows: Record<string, unknown>[] = await ds.query(
    `SELECT ${columns.map((c) => ds.driver.escape(c.databaseName)).join(', ')} FROM ${ds.driver.escape(meta.tableName)} ` +
      `WHERE ${col('jobId')} = ? ORDER BY ${col('createdAt')} DESC, ${col('id')} DESC LIMIT ${JOB_VIEW_EXPORTS}`,
    [jobId],
  );
  return rows.map((raw) => {
    const row = new JobExportLog() as unknown as Record<string, unknown>;
    for (const c of columns) row[c.propertyName] = ds.driver.prepareHydratedValue(raw[c.databaseName], c);
    return exportSummary(row as unknown as JobExportLog, lifetimeMs);
  });
}
