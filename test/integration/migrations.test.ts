import assert from 'node:assert/strict';
import { describeEachDatabase } from '../support/databases';

describeEachDatabase('migrations', (db) => {
  it('JobReservedAt marks the rows that were jobs (the old sentinel: not created with nothing reserved)', async () => {
    const ds = db().ds;
    // Back to just before JobReservedAt (undoing the migrations that came after it too), then forward again.
    const names = ds.migrations.map((m) => m.name);
    const later = names.slice(names.findIndex((n) => n?.startsWith('JobReservedAt')));
    for (let i = 0; i < later.length; i++) await ds.undoLastMigration({ transaction: 'each' });
    const row = (id: string, status: string, reserved: number) =>
      ds.query(
        'INSERT INTO jobs_log (id, user_id, preset_id, status, item_count, content_type, credits_reserved, credits_charged, credits_refunded, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, 0, 0, ?, ?)',
        [id, 'u', 'interior', status, 'image/png', reserved, '2026-11-01 10:00:00.000', '2026-11-01 10:00:00.000'],
      );
    await row('in-progress', 'created', 0);
    await row('created-held', 'created', 3);
    await row('failed-refused', 'failed', 0);
    await row('done', 'done', 2);
    const applied = await ds.runMigrations({ transaction: 'each' });
    assert.deepEqual(
      applied.map((m) => m.name),
      later,
    );
    const rows: { id: string; reserved_at: unknown }[] = await ds.query('SELECT id, reserved_at FROM jobs_log ORDER BY id');
    assert.deepEqual(
      rows.map((r) => [r.id, r.reserved_at !== null]),
      [
        ['created-held', true],
        ['done', true],
        ['failed-refused', true],
        ['in-progress', false],
      ],
    );
    await ds.query('DELETE FROM jobs_log');
  });
});
