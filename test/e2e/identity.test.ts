import assert from 'node:assert/strict';
import { ROUTE_DOCS } from '../../api/app';
import { User } from '../../entities/User';
import { createTestDatabase } from '../support/databases';
import { startTestSystem, type TestSystem } from '../support/stack';

describe('a token whose user row is gone', function () {
  this.timeout(120_000);
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let stack: TestSystem;
  before(async () => {
    db = await createTestDatabase('sqlite');
    stack = await startTestSystem(db, { gpu: false, cpu: false });
  });
  after(async () => {
    await stack?.close();
    await db?.drop();
  });

  it('answers 401 UNAUTHORIZED on every authenticated route, also for the jobs the user made', async () => {
    const { token, userId } = await stack.api.signUp();
    const created = await stack.api.request('POST', '/jobs', {
      token,
      body: { preset_id: 'interior', item_count: 1, content_type: 'image/png', sizes: [1024] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const jobId = created.body.data.job.id as string;
    const rule = await stack.api.request('POST', '/rules', {
      token,
      body: { name: 'r', preset_id: 'interior', concepts: ['wall'], params: {} },
    });
    await db.ds.getRepository(User).delete({ id: userId });

    const routes = ROUTE_DOCS.filter((r) => r.auth);
    assert.ok(routes.length >= 10, 'every authenticated route is documented');
    for (const r of routes) {
      const path = r.path.replace(':id', r.path.startsWith('/rules') ? String(rule.body.data?.id ?? 'x') : jobId);
      const res = await stack.api.request(r.method.toUpperCase(), path, {
        token,
        ...(r.method === 'get' || r.method === 'delete' ? {} : { body: {} }),
      });
      assert.equal(res.status, 401, `${r.method} ${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'UNAUTHORIZED');
    }
  });
});
