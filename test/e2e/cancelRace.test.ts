import assert from 'node:assert/strict';
import { describeEachDatabase } from '../support/databases';
import { startTestSystem, waitForJob, type TestSystem } from '../support/stack';

describeEachDatabase('POST /jobs/{id}/cancel under races', (db) => {
  let stack: TestSystem;
  before(async function () {
    this.timeout(60_000);
    stack = await startTestSystem(db(), { gpu: false, cpu: false });
  });
  after(async () => stack?.close());

  it('answers 200 to every one of 20 concurrent cancels of a job that ends canceled', async function () {
    this.timeout(120_000);
    for (let round = 0; round < 3; round++) {
      const { token } = await stack.api.signUp();
      const created = await stack.api.request('POST', '/jobs', {
        token,
        body: { preset_id: 'interior', item_count: 2, content_type: 'image/png', sizes: [1024, 1024] },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const jobId = created.body.data.job.id as string;
      const answers = await Promise.all(Array.from({ length: 20 }, () => stack.api.request('POST', `/jobs/${jobId}/cancel`, { token })));
      const statuses = answers.map((a) => `${a.status}${a.body.error ? ` ${a.body.error.code}` : ''}`);
      assert.deepEqual(statuses, Array(20).fill('200'), `round ${round}`);
      for (const a of answers) assert.equal(a.body.data.status, 'canceled');
      await waitForJob(stack.api, token, jobId, (v) => v.status === 'canceled', 10_000);
    }
  });
});
