/**
 * The one-image templates (grid, before_after, compare): equal cells, aspect kept, long side ≤ max_side, labels drawn
 * as SVG text by sharp. Each source is decoded and shrunk on its own (sharp's shrink-on-load), so memory holds the
 * small cells and one canvas, never the full-size set.
 */
import sharp, { type OverlayOptions } from 'sharp';
import { ApplicationFailure } from '@temporalio/common';
import { minSheetSide, sheetGrid, sheetLayout } from '../../domain/exports';
import type { Storage } from '../../services/storage';
import type { ExportBuildInput, ExportBuildResult } from '../../domain/exports';

const escapeXml = (s: string) =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

/** Builds the sheet of `input.rows` × (one column per key) and writes it to `input.targetKey`. */
export async function buildSheet(
  storage: Pick<Storage, 'get' | 'put'>,
  input: ExportBuildInput,
  onCell: () => void,
): Promise<ExportBuildResult> {
  const grid = input.template === 'grid';
  // grid: every result in `columns` columns; the others: a row per item, a column per key.
  const cells = grid
    ? input.rows.flatMap((r) => r.keys.map((key) => ({ key, caption: `#${r.idx}` })))
    : input.rows.flatMap((r) => r.keys.map((key, c) => ({ key, caption: c === 0 ? `#${r.idx}` : '' })));
  const { rows, columns } = sheetGrid(input);
  const first = cells.find((c) => c.key);
  const meta = first?.key ? await sharp(await storage.get(first.key)).metadata() : { width: 512, height: 512 };
  const spec = {
    rows,
    columns,
    aspect: (meta.width ?? 1) / (meta.height ?? 1),
    naturalWidth: meta.width ?? 512,
    maxSide: input.options.max_side,
    labels: input.options.labels,
    headers: !grid,
  };
  const layout = sheetLayout(spec);
  // The API refuses a max_side too small for the set; this is the backstop (an image whose aspect differs from its
  // preview's): fail the export rather than draw a sheet that clips its last rows.
  if (!layout) {
    throw ApplicationFailure.nonRetryable(
      `${rows} rows of ${columns} cells need a max_side of at least ${minSheetSide(spec)} px`,
      'SHEET_TOO_LARGE',
    );
  }

  const composites: OverlayOptions[] = [];
  const svg: string[] = [];
  const font = Math.max(6, Math.round(layout.cellWidth * 0.06));
  const text = (x: number, y: number, s: string, size: number) =>
    svg.push(
      `<text x="${x}" y="${y}" font-family="sans-serif" font-size="${size}" fill="#222" text-anchor="middle">${escapeXml(s)}</text>`,
    );
  for (let i = 0; i < cells.length; i++) {
    const { left, top } = layout.cell(Math.floor(i / columns), i % columns);
    const key = cells[i].key;
    if (key) {
      const tile = await sharp(await storage.get(key))
        .resize(layout.cellWidth, layout.cellHeight, { fit: 'contain', background: input.options.background })
        .flatten({ background: input.options.background })
        .png({ compressionLevel: 1 })
        .toBuffer();
      composites.push({ input: tile, left, top });
    }
    if (input.options.labels && cells[i].caption && layout.captionHeight > 0)
      text(left + layout.cellWidth / 2, top + layout.cellHeight + layout.captionHeight * 0.75, cells[i].caption, font);
    onCell();
  }
  if (input.options.labels && !grid && layout.headerHeight > 0) {
    input.headers.forEach((h, c) => {
      // Shrink a long rule label to its column (sans-serif glyphs average about 0.55 em).
      const size = Math.max(6, Math.min(Math.round(font * 1.2), Math.floor((layout.cellWidth * 0.95) / (0.55 * h.length))));
      text(layout.cell(0, c).left + layout.cellWidth / 2, layout.headerHeight * 0.8, h, size);
    });
  }
  if (svg.length) {
    const overlay = `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">${svg.join('')}</svg>`;
    composites.push({ input: Buffer.from(overlay), left: 0, top: 0 });
  }
  const canvas = sharp({
    create: { width: layout.width, height: layout.height, channels: 3, background: input.options.background },
  }).composite(composites);
  const png = input.format === 'png';
  const bytes = await (png ? canvas.png() : canvas.jpeg({ quality: 90 })).toBuffer();
  const contentType = png ? 'image/png' : 'image/jpeg';
  await storage.put(input.targetKey, bytes, contentType);
  return { key: input.targetKey, bytes: bytes.length, contentType };
}
