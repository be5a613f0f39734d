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

/** What a sheet's layout depends on. */
export interface SheetSpec {
  rows: number;
  columns: number;
  /** Width / height of the first source. */
  aspect: number;
  naturalWidth: number;
  maxSide: number;
  labels: boolean;
  headers: boolean;
}

/** The narrowest cell a sheet may shrink to: below it a photo is no longer recognisable. */
export const MIN_CELL_WIDTH = 8;

// Gap, caption and header as fractions of the cell width.
const GAP_F = 0.03;
const CAPTION_F = 0.1;
const HEADER_F = 0.12;

/** The sheet with cells `cw` wide: every size rounded, nothing clamped. */
function layoutAt(cw: number, spec: SheetSpec): SheetLayout {
  const { rows, columns, aspect } = spec;
  const ch = Math.max(1, Math.round(cw / aspect));
  const gap = Math.max(1, Math.round(cw * GAP_F));
  const captionHeight = spec.labels ? Math.round(cw * CAPTION_F) : 0;
  const headerHeight = spec.labels && spec.headers ? Math.round(cw * HEADER_F) : 0;
  return {
    width: columns * (cw + gap) + gap,
    height: headerHeight + rows * (ch + captionHeight + gap) + gap,
    cellWidth: cw,
    cellHeight: ch,
    gap,
    headerHeight,
    captionHeight,
    cell: (row, col) => ({ left: gap + col * (cw + gap), top: headerHeight + gap + row * (ch + captionHeight + gap) }),
  };
}

/** The long side of the smallest sheet of this shape (cells MIN_CELL_WIDTH wide): `maxSide` must be at least this. */
export function minSheetSide(spec: Omit<SheetSpec, 'maxSide' | 'naturalWidth'>): number {
  const l = layoutAt(MIN_CELL_WIDTH, { ...spec, maxSide: 0, naturalWidth: 0 });
  return Math.max(l.width, l.height);
}

/**
 * Equal cells of the given aspect, `columns` wide and `rows` high, as large as fits a sheet whose long side is at most
 * `maxSide` (and never upscaled past `naturalWidth`). Gaps, captions and headers scale with the cells. Null when even
 * MIN_CELL_WIDTH cells do not fit: the sheet is never clipped (the API refuses such a request, see `minSheetSide`).
 */
export function sheetLayout(spec: SheetSpec): SheetLayout | null {
  const { rows, columns, aspect } = spec;
  // The width the unrounded fractions give; rounding each size (gap ≥ 1 px) can overshoot it, so shrink until the
  // rounded sheet fits. Every rounded size grows with the cell width, so the first width that fits is the largest.
  const captionF = spec.labels ? CAPTION_F : 0;
  const headerF = spec.labels && spec.headers ? HEADER_F : 0;
  const widthPerCell = columns * (1 + GAP_F) + GAP_F;
  const heightPerCell = rows * (1 / aspect + captionF + GAP_F) + GAP_F + headerF;
  const fits = (l: SheetLayout) => l.width <= spec.maxSide && l.height <= spec.maxSide;
  let cw = Math.floor(Math.min(spec.naturalWidth, spec.maxSide / Math.max(widthPerCell, heightPerCell)));
  cw = Math.max(MIN_CELL_WIDTH, cw);
  for (let l = layoutAt(cw, spec); ; l = layoutAt(--cw, spec)) {
    if (fits(l)) return l;
    if (cw <= MIN_CELL_WIDTH) return null;
  }
}

/** Rows and columns of a sheet template: grid wraps the results in `columns`; the others have a row per item. */
export function sheetGrid(input: Pick<ExportBuildInput, 'template' | 'headers' | 'rows' | 'options'>): {
  rows: number;
  columns: number;
} {
  const cells = input.rows.reduce((n, r) => n + r.keys.length, 0);
  const columns = input.template === 'grid' ? Math.max(1, Math.min(input.options.columns, cells)) : Math.max(1, input.headers.length);
  return { rows: Math.max(1, Math.ceil(cells / columns)), columns };
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
