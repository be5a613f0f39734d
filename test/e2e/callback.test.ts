import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { CompleteAsyncError, Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { CpuActivities } from '../../activities/contract';
import type { GpuActivities, SegmentInput } from '../../gpu-activities/contract';
import { maskKey, previewKey, resultKey } from '../../domain/storageKeys';
import { createTestDatabase } from '../support/databases';
import { startTestSystem, uploadAll, waitForJob, type TestSystem } from '../support/stack';

describe('POST /jobs/{id}/callback (serverless GPU provider completes an activity by task token)', function () {
  this.timeout(120_000);
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let system: TestSystem;
  let connection: NativeConnection;
  let workers: Worker[];
  let run: Promise<unknown>;
  const handedOut: { token: Buffer; input: SegmentInput }[] = [];

  before(async () => {
    db = await createTestDatabase('sqlite');
    system = await startTestSystem(db, { gpu: false, cpu: false });
    connection = await NativeConnection.connect({ address: system.config.TEMPORAL_ADDRESS });
    // A provider adapter: `segment` records its item in the heartbeat details (what the callback route checks), hands
    // its task token to the "provider" and completes later via the callback.
    const gpu: GpuActivities = {
      async segment(input) {
        const token = Buffer.from(Context.current().info.taskToken);
        await system.client.activity.heartbeat(token, { idx: input.item.idx });
        handedOut.push({ token, input });
        throw new CompleteAsyncError();
      },
    };
    // The rule step is stubbed too: the "provider" reports mask keys it never wrote.
    const cpu: CpuActivities = {
      async applyRule({ item, concepts }) {
        return {
          resultKey: resultKey(item.userId, item.jobId, item.idx),
          previewKey: previewKey(item.userId, item.jobId, item.idx),
          checks: { protected_changed_px: 0, delta_e_to_target: {}, coverage: Object.fromEntries(concepts.map((c) => [c, 0.5])) },
        };
      },
    };
    workers = await Promise.all([
      Worker.create({ connection, taskQueue: system.config.GPU_TASK_QUEUE, activities: gpu }),
      Worker.create({ connection, taskQueue: system.config.CPU_TASK_QUEUE, activities: cpu }),
    ]);
    run = Promise.all(workers.map((w) => w.run()));
  });
  after(async () => {
    workers?.forEach((w) => w.shutdown());
    await run;
    await connection?.close();
    await system?.close();
    await db?.drop();
  });

  const post = (jobId: string, payload: unknown, secret = system.config.GPU_CALLBACK_SECRET, raw?: string) => {
    const bodyText = raw ?? JSON.stringify(payload);
    const signature = `sha256=${createHmac('sha256', secret).update(bodyText).digest('hex')}`;
    return system.api.request('POST', `/jobs/${jobId}/callback`, {
      raw: bodyText,
      headers: { 'content-type': 'application/json', 'x-signature': signature },
    });
  };

  it('refuses a bad or missing signature with 401 before looking at the body', async () => {
    const wrong = await post('x', { task_token: 'AA==', idx: 0, status: 'done' }, 'not-the-callback-secret');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'UNAUTHORIZED');
    const malformed = await post('x', undefined, 'not-the-callback-secret', '{"task_token": ');
    assert.equal(malformed.status, 401, 'a forged request learns nothing about its JSON');
    const missing = await system.api.request('POST', '/jobs/x/callback', { body: { task_token: 'AA==', idx: 0, status: 'done' } });
    assert.equal(missing.status, 401);
  });

  it('answers a signed request with a token that is not one with 400', async () => {
    const res = await post('x', { task_token: Buffer.from('garbage').toString('base64'), idx: 0, status: 'done', result: {} });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'VALIDATION_ERROR');
  });

  it('completes the activity, counts a duplicate delivery once, and the job finishes', async () => {
    const { token } = await system.api.signUp();
    const files = [Buffer.from('uploaded bytes')];
    const created = (
      await system.api.request('POST', '/jobs', {
        token,
        body: { preset_id: 'interior', item_count: 1, content_type: 'image/png', sizes: [files[0].length] },
      })
    ).body.data;
    await uploadAll(created.uploads, files);
    await system.api.request('POST', `/jobs/${created.job.id}/confirm-upload`, { token });
    await system.api.request('POST', `/jobs/${created.job.id}/execute`, { token, body: { concepts: ['wall'] } });
    for (let i = 0; i < 100 && !handedOut.some((h) => h.input.item.jobId === created.job.id); i++)
      await new Promise((r) => setTimeout(r, 100));
    const { token: taskToken, input } = handedOut.find((h) => h.input.item.jobId === created.job.id)!;
    const { userId, jobId, idx } = input.item;
    const payload = {
      task_token: taskToken.toString('base64'),
      idx,
      status: 'done',
      result: { width: 640, height: 480, masks: { wall: maskKey(userId, jobId, idx, 'wall') }, coverage: { wall: 0.5 } },
    };
    // A valid signature does not let one job's token complete another job, or another item of the same job.
    const { token: otherUser } = await system.api.signUp();
    const other = (
      await system.api.request('POST', '/jobs', {
        token: otherUser,
        body: { preset_id: 'interior', item_count: 1, content_type: 'image/png', sizes: [1024] },
      })
    ).body.data.job.id;
    const elsewhere = await post(other, payload);
    assert.equal(elsewhere.status, 404, JSON.stringify(elsewhere.body));
    assert.equal(elsewhere.body.error.code, 'NOT_FOUND');
    const wrongItem = await post(jobId, { ...payload, idx: idx + 1 });
    assert.equal(wrongItem.status, 404, JSON.stringify(wrongItem.body));
    const first = await post(jobId, payload);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body.data, { accepted: true, duplicate: false });
    const again = await post(jobId, payload);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.data, { accepted: false, duplicate: true });
    const view = await waitForJob(system.api, token, jobId, (v) => v.status === 'done');
    assert.deepEqual(view.credits, { reserved: 1, charged: 1, refunded: 0 });
    assert.equal(view.items[0].checks.coverage.wall, 0.5);
  });
});
