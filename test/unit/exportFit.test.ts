import assert from 'node:assert/strict';
import sharp from 'sharp';
import { assertSheetFits } from '../../api/exportFit';
import { ApiError } from '../../api/errors';
import type { ExportBuildInput, ExportTemplate } from '../../domain/exports';

const build = (template: ExportTemplate, items: number, maxSide: number, keys = 3): ExportBuildInput => ({
  template,
  format: 'jpeg',
  targetKey: 'exports/x.jpg',
  options: { columns: 3, max_side: maxSide, background: '#FFFFFF', include_masks: false, labels: true },
  headers: template === 'grid' ? ['job'] : ['original', 'job', 'v1'].slice(0, keys),
  rows: Array.from({ length: items }, (_, idx) => ({ idx, keys: Array(template === 'grid' ? 1 : keys).fill(`r/${idx}`) })),
  files: [],
  manifest: null,
});

describe('assertSheetFits (POST /jobs/{id}/exports)', () => {
  let preview: Buffer;
  const gets: string[] = [];
  const storage = {
    get: async (key: string) => {
      gets.push(key);
      return preview;
    },
  };
  const items = Array.from({ length: 500 }, (_, idx) => ({ idx, previewKey: `previews/${idx}.jpg` }));

  before(async () => {
    // A 4:3 preview, as the worker writes them (≤ 512 px JPEG).
    preview = await sharp({ create: { width: 512, height: 384, channels: 3, background: '#888' } })
      .jpeg()
      .toBuffer();
  });

  it('refuses 500 compare rows in 2048 px with a 400 naming options.max_side and the size they need', async () => {
    await assert.rejects(assertSheetFits(storage, build('compare', 500, 2048), items), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'VALIDATION_ERROR');
      assert.deepEqual(err.details?.fields, ['options.max_side']);
      assert.match(err.message, /500 rows of 3 cells need at least 4002 px/);
      return true;
    });
    assert.deepEqual(gets.at(-1), 'previews/0.jpg', 'the aspect comes from the first row’s preview');
  });

  it('accepts what fits: 500 compare rows at the default 4096, a small set in 256, any zip without reading', async () => {
    await assertSheetFits(storage, build('compare', 500, 4096), items);
    await assertSheetFits(storage, build('grid', 12, 256), items);
    const before = gets.length;
    await assertSheetFits(storage, build('zip', 500, 256), items);
    assert.equal(gets.length, before);
  });

  it('refuses a one-column-wide grid of 500 in 1024 but not in 3 columns of 2048', async () => {
    const grid = build('grid', 500, 1024);
    await assert.rejects(assertSheetFits(storage, { ...grid, options: { ...grid.options, columns: 1 } }, items), ApiError);
    await assertSheetFits(storage, build('grid', 500, 2048), items);
  });
});
