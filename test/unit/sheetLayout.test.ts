import assert from 'node:assert/strict';
import { MIN_CELL_WIDTH, minSheetSide, sheetGrid, sheetLayout, type SheetLayout, type SheetSpec } from '../../domain/exports';

/** Every cell, with its caption, lies inside the canvas, and the canvas is within max_side. */
function assertInside(l: SheetLayout, spec: SheetSpec, what: string): void {
  assert.ok(l.width <= spec.maxSide && l.height <= spec.maxSide, `${what}: canvas ${l.width}x${l.height}`);
  for (let r = 0; r < spec.rows; r++) {
    for (let c = 0; c < spec.columns; c++) {
      const { left, top } = l.cell(r, c);
      if (left + l.cellWidth > l.width || top + l.cellHeight + l.captionHeight > l.height || left < 0 || top < l.headerHeight)
        assert.fail(`${what}: cell (${r}, ${c}) at ${left},${top} of ${l.cellWidth}x${l.cellHeight} is outside ${l.width}x${l.height}`);
    }
  }
}

const spec = (s: Partial<SheetSpec> & Pick<SheetSpec, 'rows' | 'columns'>): SheetSpec => ({
  aspect: 4 / 3,
  naturalWidth: 4000,
  maxSide: 4096,
  labels: true,
  headers: true,
  ...s,
});

describe('sheet layout', () => {
  it('fits every cell inside a canvas within max_side, or refuses exactly when the smallest cells do not fit', function () {
    this.timeout(120_000);
    // grid: 1–16 columns; before_after: 2; compare: original + job + up to 20 variants.
    const columnCounts = [1, 2, 3, 4, 16, 22];
    const labelModes = [
      { labels: false, headers: false },
      { labels: true, headers: false }, // grid
      { labels: true, headers: true }, // before_after, compare
    ];
    let laidOut = 0;
    let refused = 0;
    for (const aspect of [4 / 3, 3 / 4]) {
      for (const maxSide of [256, 1024, 2048, 4096]) {
        for (const columns of columnCounts) {
          for (const mode of labelModes) {
            for (let rows = 1; rows <= 500; rows++) {
              const s = spec({ rows, columns, aspect, maxSide, ...mode });
              const what = `${rows}x${columns} aspect ${aspect.toFixed(2)} max ${maxSide} labels ${mode.labels} headers ${mode.headers}`;
              const l = sheetLayout(s);
              const min = minSheetSide(s);
              if (!l) {
                assert.ok(min > maxSide, `${what}: refused though ${min} px would fit`);
                refused++;
                continue;
              }
              assert.ok(min <= maxSide, what);
              assert.ok(l.cellWidth >= MIN_CELL_WIDTH, what);
              assertInside(l, s, what);
              laidOut++;
            }
          }
        }
      }
    }
    assert.ok(laidOut > 0 && refused > 0, `${laidOut} laid out, ${refused} refused`);
  });

  it('no longer clips the sets the review found', () => {
    const cases: [string, SheetSpec][] = [
      ['before_after 12, max 2048, labels off', spec({ rows: 12, columns: 2, maxSide: 2048, labels: false, headers: false })],
      ['before_after 20 at the default', spec({ rows: 20, columns: 2 })],
      ['compare 20 at the default', spec({ rows: 20, columns: 4 })],
      ['compare 500 with labels', spec({ rows: 500, columns: 3 })],
      ['grid 3 columns, 58 items, max 1024', spec({ rows: 20, columns: 3, maxSide: 1024, headers: false })],
    ];
    for (const [what, s] of cases) {
      const l = sheetLayout(s);
      assert.ok(l, what);
      assertInside(l, s, what);
      // Tight: one pixel wider cells would not fit (unless the originals are that small).
      const bigger = sheetLayout({ ...s, naturalWidth: l.cellWidth + 1, maxSide: s.maxSide });
      assert.equal(bigger?.cellWidth, l.cellWidth, `${what}: the cells are as large as fit`);
    }
  });

  it('refuses 500 rows in a small max_side', () => {
    const s = spec({ rows: 500, columns: 3, maxSide: 2048 });
    assert.equal(sheetLayout(s), null);
    assert.ok(minSheetSide(s) > 2048);
  });

  it('keeps the cells in the aspect', () => {
    for (const [rows, columns] of [
      [167, 3],
      [1, 4],
      [12, 5],
    ]) {
      const l = sheetLayout(spec({ rows, columns }))!;
      assert.ok(Math.abs(l.cellWidth / l.cellHeight - 4 / 3) < 0.05);
    }
  });

  it('never upscales past the originals', () => {
    const l = sheetLayout(spec({ rows: 1, columns: 2, aspect: 1, naturalWidth: 300, labels: false, headers: false }))!;
    assert.equal(l.cellWidth, 300);
  });

  it('shapes each template: grid wraps in columns, the others have a row per item and a column per header', () => {
    const options = { columns: 3, max_side: 4096, background: '#FFFFFF', include_masks: false, labels: true };
    const rows = Array.from({ length: 58 }, (_, idx) => ({ idx, keys: ['r'] }));
    assert.deepEqual(sheetGrid({ template: 'grid', headers: ['job'], rows, options }), { rows: 20, columns: 3 });
    const pairs = rows.map((r) => ({ ...r, keys: ['o', 'r'] }));
    assert.deepEqual(sheetGrid({ template: 'before_after', headers: ['original', 'job'], rows: pairs, options }), {
      rows: 58,
      columns: 2,
    });
    assert.deepEqual(sheetGrid({ template: 'grid', headers: ['job'], rows: rows.slice(0, 2), options }), { rows: 1, columns: 2 });
  });
});
