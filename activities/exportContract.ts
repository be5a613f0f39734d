/**
 * The export build's contract (CPU task queue): everything the builder needs is resolved by the API into storage keys
 * and labels, so the builder reads no database. Imported as types by the workflows.
 */
import type { ExportTemplate, SheetFormat } from '../domain/exports';

/** Options of a build (API.md §19 `options`, defaults applied). */
export interface ExportOptions {
  columns: number;
  max_side: number;
  background: string;
  include_masks: boolean;
  labels: boolean;
}

/** One row of a sheet (one item): a key per column, null where that column has no result for this item. */
export interface ExportRow {
  idx: number;
  keys: (string | null)[];
}

/** Input of `buildExport`. */
export interface ExportBuildInput {
  template: ExportTemplate;
  format: SheetFormat;
  targetKey: string;
  options: ExportOptions;
  /** Column headers of before_after / compare sheets (labelled when `options.labels`). */
  headers: string[];
  rows: ExportRow[];
  /** zip only: the archive's files in order (name inside the zip, object key). */
  files: { name: string; key: string }[];
  /** zip only: written as `manifest.json`. */
  manifest: unknown;
}

/** What a finished build wrote. */
export interface ExportBuildResult {
  key: string;
  bytes: number;
  contentType: string;
}

/** The export activities a CPU worker registers. */
export interface ExportBuildActivities {
  buildExport(input: ExportBuildInput): Promise<ExportBuildResult>;
}
