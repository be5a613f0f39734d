import assert from 'node:assert/strict';
import { PLANS } from '../../domain/plans';
import { createTestDatabase } from '../support/databases';
import { startTestSystem, waitForJob, type TestSystem } from '../support/stack';

describe('upload timeout end to end (UPLOAD_TIMEOUT=2s)', function () {
  this.timeout(120_000);
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let system: TestSystem;
  before(async () => {
    db = await createTestDatabase('sqlite');
    system = await startTestSystem(db, { env: { UPLOAD_TIMEOUT: '2s' }, gpu: false });
  });
  after(async () => {
    await system?.close();
    await db?.drop();
  });

  it('fails a job never confirmed with UPLOAD_TIMEOUT and releases its credits', async () => {
    const { token } = await system.api.signUp();
    const created = await system.api.request('POST', '/jobs', { token, body: { preset_id: 'seller', item_count: 7 } });
    assert.equal(created.status, 201);
    const id = created.body.data.job.id;
    assert.equal((await system.api.request('GET', '/me', { token })).body.data.credits.reserved, 7);
    const view = await waitForJob(system.api, token, id, (v) => v.status === 'failed', 30_000);
    assert.equal(view.error.code, 'UPLOAD_TIMEOUT');
    assert.deepEqual(view.credits, { reserved: 7, charged: 0, refunded: 7 });
    const me = (await system.api.request('GET', '/me', { token })).body.data;
    assert.deepEqual(me.credits, { balance: PLANS.free.signupCredits, reserved: 0, available: PLANS.free.signupCredits });
    assert.equal(me.limits.active_jobs, 0);
    const late = await system.api.request('POST', `/jobs/${id}/confirm-upload`, { token });
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'INVALID_STATE');
  });
});
