/** A before/after contact sheet: one row per item, original on the left, result on the right, with a label strip. */
import sharp, { type OverlayOptions } from 'sharp';

const CELL_W = 360;
const LABEL_H = 28;
const GAP = 8;

/** Renders `pairs` (original, result) into one PNG. */
export async function contactSheet(title: string, pairs: { label: string; before: Buffer; after: Buffer | null }[]): Promise<Buffer> {
  const cells = await Promise.all(
    pairs.map(async (p) => {
      const before = await sharp(p.before).rotate().resize({ width: CELL_W }).png().toBuffer();
      const { height = CELL_W } = await sharp(before).metadata();
      const after = p.after
        ? await sharp(p.after).resize({ width: CELL_W, height, fit: 'contain', background: '#333' }).png().toBuffer()
        : await sharp({ create: { width: CELL_W, height, channels: 3, background: '#552222' } })
            .png()
            .toBuffer();
      return { ...p, before, after, height };
    }),
  );
  const width = GAP * 3 + CELL_W * 2;
  const height = LABEL_H + GAP + cells.reduce((h, c) => h + c.height + LABEL_H + GAP, 0);
  const layers: OverlayOptions[] = [{ input: text(title, width, LABEL_H, 16, true), top: 0, left: 0 }];
  let top = LABEL_H + GAP;
  for (const c of cells) {
    layers.push({ input: text(`${c.label} — before`, CELL_W, LABEL_H, 13), top, left: GAP });
    layers.push({ input: text(`${c.label} — after`, CELL_W, LABEL_H, 13), top, left: GAP * 2 + CELL_W });
    top += LABEL_H;
    layers.push({ input: c.before, top, left: GAP }, { input: c.after, top, left: GAP * 2 + CELL_W });
    top += c.height + GAP;
  }
  return sharp({ create: { width, height, channels: 3, background: '#1e1e1e' } })
    .composite(layers)
    .png()
    .toBuffer();
}

function text(s: string, width: number, height: number, size: number, bold = false): Buffer {
  const esc = s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><text x="6" y="${height - 9}" font-family="sans-serif" font-size="${size}" font-weight="${bold ? 700 : 400}" fill="#eeeeee">${esc}</text></svg>`,
  );
}
