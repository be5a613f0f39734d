/**
 * Whether a one-image export (grid, before_after, compare) can fit its `max_side`: a set of many rows needs a sheet
 * at least `minSheetSide` long, and the builder would otherwise have to clip rows. The aspect comes from the first
 * row's preview (≤ 512 px JPEG, the originals can be 11 MiB); only its header is parsed.
 */
import sharp, { type Metadata } from 'sharp';
import { minSheetSide, sheetGrid, type ExportBuildInput } from '../domain/exports';
import type { JobItemLog } from '../entities/JobItemLog';
import { ObjectNotFoundError, type Storage } from '../services/storage';
import { validationError } from './validate';

const PREVIEW_MAX_BYTES = 4 * 1024 * 1024;

/** Throws 400 VALIDATION_ERROR on `options.max_side` when the sheet cannot fit it even at the smallest cell. */
export async function assertSheetFits(
  storage: Pick<Storage, 'get'>,
  build: ExportBuildInput,
  items: Pick<JobItemLog, 'idx' | 'previewKey'>[],
): Promise<void> {
  if (build.template === 'zip') return;
  const { rows, columns } = sheetGrid(build);
  const key = items.find((i) => i.idx === build.rows[0]?.idx)?.previewKey;
  if (!key) return; // nothing to measure: the builder's own check stands
  let meta: Metadata;
  try {
    meta = await sharp(await storage.get(key, { maxBytes: PREVIEW_MAX_BYTES })).metadata();
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return; // the builder fails the export with INPUT_MISSING
    throw err;
  }
  const aspect = (meta.width ?? 1) / (meta.height ?? 1);
  const labels = build.options.labels;
  const need = minSheetSide({ rows, columns, aspect, labels, headers: build.template !== 'grid' });
  if (need <= build.options.max_side) return;
  throw validationError([
    {
      path: ['options', 'max_side'],
      message:
        `${rows} rows of ${columns} cells need at least ${need} px at the smallest cell (${build.options.max_side} given); ` +
        `raise max_side${labels ? ', turn labels off' : ''}${build.template === 'grid' ? ', add columns' : ''} or export a zip`,
    },
  ]);
}
