import assert from 'node:assert/strict';
import { PLANS } from '../../domain/plans';
import { startApi, type TestApi } from '../support/api';
import { describeEachDatabase } from '../support/databases';

describeEachDatabase('GET /me', (db) => {
  let api: TestApi;
  before(async () => {
    api = await startApi(db());
  });
  after(() => api.close());

  it('shows credits, limits and usage of the free plan', async () => {
    const { token, userId } = await api.signUp();
    const res = await api.request('GET', '/me', { token });
    assert.equal(res.status, 200);
    const me = res.body.data;
    assert.equal(me.id, userId);
    assert.equal(me.plan, 'free');
    assert.ok(Math.abs(Date.parse(me.created_at) - Date.now()) < 60_000);
    assert.deepEqual(me.credits, { balance: PLANS.free.signupCredits, reserved: 0, available: PLANS.free.signupCredits });
    assert.deepEqual(me.limits, {
      max_active_jobs: PLANS.free.maxActiveJobs,
      active_jobs: 0,
      rule_slots: PLANS.free.ruleSlots,
      rule_slots_used: 0,
      max_items_per_job: PLANS.free.maxItemsPerJob,
    });
  });

  it('needs a token', async () => {
    const res = await api.request('GET', '/me');
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'UNAUTHORIZED');
  });
});
