/** Exports of a job's set (API.md §19): templates, statuses, limits, storage key and the contact-sheet layout. */

/** The export templates. */
export const EXPORT_TEMPLATES = ['zip', 'grid', 'before_after', 'compare'] as const;
/** An export template. */
export type ExportTemplate = (typeof EXPORT_TEMPLATES)[number];

/** Image formats of the one-image templates. */
export const SHEET_FORMATS = ['jpeg', 'png'] as const;
/** A one-image template's format. */
export type SheetFormat = (typeof SHEET_FORMATS)[number];

/** Every export status. */
export const EXPORT_STATUSES = ['queued', 'running', 'done', 'failed'] as const;
/** An export status. */
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

/** Exports one user may have queued or running at once (API.md §19). */
export const MAX_RUNNING_EXPORTS = 5;

/** The file extension of an export: `zip` for the zip template, else the sheet's format. */
export function exportExtension(template: ExportTemplate, format: SheetFormat): string {
  if (template === 'zip') return 'zip';
  return format === 'png' ? 'png' : 'jpg';
}

/** Where a built export is stored. */
export function exportKey(userId: string, jobId: string, exportId: string, ext: string): string {
  return `exports/${userId}/${jobId}/${exportId}.${ext}`;
}

/** Where every cell of a contact sheet goes. */
export interface SheetLayout {
  width: number;
  height: number;
  cellWidth: number;
  cellHeight: number;
  gap: number;
  /** Height of the column header band (0 without labels or headers). */
  headerHeight: number;
  /** Height of the caption under each cell (0 without labels). */
  captionHeight: number;
  /** Top-left corner of cell (row, column). */
  cell(row: number, col: number): { left: number; top: number };
}

/**
 * Equal cells of the given aspect, `columns` wide and `rows` high, scaled so the sheet's long side is at most
 * `maxSide` (and cells are never upscaled past `naturalWidth`). Gaps, captions and headers scale with the cells.
 */
export function sheetLayout(opts: {
  rows: number;
  columns: number;
  aspect: number;
  naturalWidth: number;
  maxSide: number;
  labels: boolean;
  headers: boolean;
}): SheetLayout {
  const { rows, columns, aspect } = opts;
  // Sizes as fractions of the cell width, solved for the width that fits maxSide.
  const gapF = 0.03;
  const captionF = opts.labels ? 0.1 : 0;
  const headerF = opts.labels && opts.headers ? 0.12 : 0;
  const widthPerCell = columns * (1 + gapF) + gapF;
  const heightPerCell = rows * (1 / aspect + captionF + gapF) + gapF + headerF;
  const cw = Math.max(8, Math.floor(Math.min(opts.naturalWidth, opts.maxSide / Math.max(widthPerCell, heightPerCell))));
  const ch = Math.max(1, Math.round(cw / aspect));
  const gap = Math.max(1, Math.round(cw * gapF));
  const captionHeight = Math.round(cw * captionF);
  const headerHeight = Math.round(cw * headerF);
  const width = Math.min(opts.maxSide, columns * (cw + gap) + gap);
  const height = Math.min(opts.maxSide, headerHeight + rows * (ch + captionHeight + gap) + gap);
  return {
    width,
    height,
    cellWidth: cw,
    cellHeight: ch,
    gap,
    headerHeight,
    captionHeight,
    cell: (row, col) => ({ left: gap + col * (cw + gap), top: headerHeight + gap + row * (ch + captionHeight + gap) }),
  };
}

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
