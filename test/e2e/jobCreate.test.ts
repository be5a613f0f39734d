import assert from 'node:assert/strict';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createOrchestrationWorker } from '../../activities/worker';
import { createStorage } from '../../services/storage';
import { PLANS } from '../../domain/plans';
import { JobLog } from '../../entities/JobLog';
import { workflowBundle } from '../../scripts/stack/system';
import { createCredits, JobSettledError, UnknownUserError, type Credits } from '../../services/credits';
import { describeEachDatabase } from '../support/databases';
import { startTestSystem, type TestSystem } from '../support/stack';

/** How the ledger behind the orchestration worker answers `reserve` (the rest of the ledger is the real one). */
type LedgerMode = 'up' | 'down' | 'unknown-user' | 'settled';

describeEachDatabase('POST /jobs against ledger failures (api/jobCreate)', (db) => {
  let stack: TestSystem;
  let connection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  let mode: LedgerMode = 'up';

  before(async function () {
    this.timeout(120_000);
    stack = await startTestSystem(db(), { gpu: false, cpu: false, orchestration: false });
    const real = createCredits(db().ds);
    // The real ledger with a switch on reserve: an outage (any error: the activity retries, then the workflow gives up)
    // or the permanent errors the ledger raises.
    const credits: Credits = {
      ...real,
      reserve: async (userId, jobId, amount) => {
        if (mode === 'down') throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
        if (mode === 'unknown-user') throw new UnknownUserError(userId);
        if (mode === 'settled') throw new JobSettledError(jobId);
        return real.reserve(userId, jobId, amount);
      },
    };
    connection = await NativeConnection.connect({ address: stack.config.TEMPORAL_ADDRESS });
    worker = await createOrchestrationWorker({
      connection,
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      ds: db().ds,
      credits,
      storage: createStorage(stack.config),
      workflowBundle: await workflowBundle(),
    });
    running = worker.run();
  });
  after(async () => {
    worker?.shutdown();
    await running?.catch(() => undefined);
    await connection?.close();
    await stack?.close();
  });
  afterEach(() => {
    mode = 'up';
  });

  const body = { preset_id: 'interior', item_count: 2, content_type: 'image/png', sizes: [1024, 1024] };
  const create = (token: string, key?: string) =>
    stack.api.request('POST', '/jobs', { token, body, headers: key ? { 'Idempotency-Key': key } : {} });

  /** Nothing of the failed creates is left: no job for the user, nothing held by the ledger. */
  async function assertNothingHeld(token: string, jobs: number) {
    const me = (await stack.api.request('GET', '/me', { token })).body.data;
    assert.equal(me.credits.reserved, 2 * jobs);
    assert.equal(me.limits.active_jobs, jobs);
    assert.equal((await stack.api.request('GET', '/jobs', { token })).body.data.items.length, jobs);
  }

  it('lets a retry with the same Idempotency-Key make a fresh attempt once a ledger outage failed the first', async function () {
    this.timeout(60_000);
    const { token, userId } = await stack.api.signUp();
    mode = 'down';
    const failed = await create(token, 'outage-1');
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    assert.equal(failed.body.error.code, 'UNAVAILABLE');
    assert.equal(await db().ds.getRepository(JobLog).countBy({ userId }), 0, 'the failed create left no row');
    mode = 'up';
    const retried = await create(token, 'outage-1');
    assert.equal(retried.status, 201, JSON.stringify(retried.body));
    assert.deepEqual(retried.body.data.job.credits, { reserved: 2, charged: 0, refunded: 0 });
    assert.equal(retried.body.data.uploads.length, 2);
    const again = await create(token, 'outage-1');
    assert.equal(again.status, 200, 'from then on the key replays the job');
    assert.equal(again.body.data.job.id, retried.body.data.job.id);
    await assertNothingHeld(token, 1);
    // The job is one every route finds at once (the mirror recorded the reservation before the create answered).
    const id = retried.body.data.job.id;
    assert.equal((await stack.api.request('GET', `/jobs/${id}`, { token })).status, 200);
    assert.equal((await stack.api.request('POST', `/jobs/${id}/cancel`, { token })).status, 200);
  });

  it('answers an unknown user from the ledger with 401 UNAUTHORIZED, not 503', async function () {
    this.timeout(60_000);
    const { token } = await stack.api.signUp();
    mode = 'unknown-user';
    const res = await create(token, 'gone-1');
    assert.equal(res.status, 401, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'UNAUTHORIZED');
    mode = 'up';
    assert.equal((await create(token, 'gone-1')).status, 201, 'the key allows a fresh attempt');
    await assertNothingHeld(token, 1);
  });

  it('answers a reservation for a settled job with 409 INVALID_STATE, not 503', async function () {
    this.timeout(60_000);
    const { token } = await stack.api.signUp();
    mode = 'settled';
    const res = await create(token);
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'INVALID_STATE');
    await assertNothingHeld(token, 0);
  });

  it('answers a refusal with the domain message and the numbers', async () => {
    const { token } = await stack.api.signUp();
    const held = [];
    for (const n of [50, 45])
      held.push(
        (await stack.api.request('POST', '/jobs', { token, body: { ...body, item_count: n, sizes: Array(n).fill(1024) } })).body.data.job
          .id,
      );
    const res = await stack.api.request('POST', '/jobs', { token, body: { ...body, item_count: 10, sizes: Array(10).fill(1024) } });
    assert.equal(res.status, 402, JSON.stringify(res.body));
    assert.equal(res.body.error.message, `the job needs 10 credits, ${PLANS.free.signupCredits - 95} available`);
    for (const id of held) await stack.api.request('POST', `/jobs/${id}/cancel`, { token });
  });
});
