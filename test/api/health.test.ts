import assert from 'node:assert/strict';
import { startApi } from '../support/api';
import { describeEachDatabase } from '../support/databases';

describeEachDatabase('GET /healthz and /readyz', (db) => {
  it('healthz answers while the process is up', async () => {
    const api = await startApi(db());
    try {
      const res = await api.request('GET', '/healthz');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.data, { status: 'ok' });
    } finally {
      await api.close();
    }
  });

  it('readyz is 200 when every dependency answers and 503 UNAVAILABLE naming the one that does not', async () => {
    const healthy = await startApi(db(), {}, { checks: { database: () => db().ds.query('SELECT 1'), storage: async () => true } });
    const broken = await startApi(
      db(),
      {},
      {
        checks: {
          database: () => db().ds.query('SELECT 1'),
          temporal: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:7233')),
        },
      },
    );
    try {
      const ok = await healthy.request('GET', '/readyz');
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body.data, { status: 'ready', checks: { database: 'ok', storage: 'ok' } });
      const down = await broken.request('GET', '/readyz');
      assert.equal(down.status, 503);
      assert.equal(down.body.error.code, 'UNAVAILABLE');
      assert.deepEqual(down.body.error.details.down, ['temporal']);
      assert.equal(down.body.error.details.checks.database, 'ok');
      assert.match(down.body.error.details.checks.temporal, /ECONNREFUSED/);
    } finally {
      await Promise.all([healthy.close(), broken.close()]);
    }
  });
});
