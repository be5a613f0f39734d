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
    const created = await system.api.request('POST', '/jobs', {
      token,
      body: { preset_id: 'seller', item_count: 7, sizes: Array(7).fill(1024) },
    });
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

  it('issues tickets that never outlive the upload window: a timed-out job’s tickets are refused by the store', async () => {
    const { token } = await system.api.signUp();
    const created = await system.api.request('POST', '/jobs', { token, body: { preset_id: 'seller', item_count: 1, sizes: [4] } });
    assert.equal(created.status, 201);
    const [ticket] = created.body.data.uploads;
    const window = Date.parse(created.body.data.job.created_at) + 2000;
    assert.ok(Date.parse(ticket.expires_at) <= window + 1000, `${ticket.expires_at} within the 2 s window`);
    await waitForJob(system.api, token, created.body.data.job.id, (v) => v.status === 'failed', 30_000);
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(ticket.expires_at) + 1000 - Date.now())));
    const res = await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body: Buffer.from([0xff, 0xd8, 0xff, 0xd9]) });
    assert.equal(res.status, 403, await res.text());
  });
});
