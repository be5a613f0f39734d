import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createCredits } from '../../services/credits';
import type { ManagedProcess } from '../../scripts/stack/process';
import { encodeScene, interiorScene } from '../../scripts/demo/scenes';
import { createTestDatabase } from '../support/databases';
import { makeTempDir, startTestTemporal } from '../support/services';
import { spawnWorker } from '../support/processes';
import { startTestSystem, uploadAll, uploadSizes, waitForJob, type TestSystem } from '../support/stack';

async function startJob(stack: TestSystem, n: number, size: [number, number]) {
  const { token, userId } = await stack.api.signUp();
  const files: Buffer[] = Array(n).fill(await encodeScene(interiorScene(0, ...size), 'png'));
  const res = await stack.api.request('POST', '/jobs', {
    token,
    body: { preset_id: 'interior', item_count: n, content_type: 'image/png', sizes: uploadSizes(files) },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  await uploadAll(res.body.data.uploads, files);
  assert.equal((await stack.api.request('POST', `/jobs/${res.body.data.job.id}/confirm-upload`, { token })).status, 200);
  assert.equal(
    (await stack.api.request('POST', `/jobs/${res.body.data.job.id}/execute`, { token, body: { concepts: ['wall', 'floor'] } })).status,
    202,
  );
  return { token, userId, jobId: res.body.data.job.id as string };
}

async function assertCompletedOnce(
  stack: TestSystem,
  ds: import('typeorm').DataSource,
  job: { token: string; userId: string; jobId: string },
  n: number,
) {
  const view = await waitForJob(stack.api, job.token, job.jobId, (v) => ['done', 'failed', 'canceled'].includes(v.status), 180_000);
  assert.equal(view.status, 'done');
  assert.equal(view.progress.done, n, JSON.stringify(view.items.filter((i: any) => i.status !== 'done')));
  assert.deepEqual(view.credits, { reserved: n, charged: n, refunded: 0 });
  const ledger = (await createCredits(ds).ledger(job.userId)).filter((e) => e.jobId === job.jobId);
  assert.deepEqual(
    ledger.map((e) => [e.kind, e.amount]),
    [
      ['reserve', n],
      ['charge', n],
      ['release', 0],
    ],
    'one reserve, one charge',
  );
  for (let i = 0; i < n; i++) assert.ok(await stack.storage.head(`outputs/${job.userId}/${job.jobId}/${i}_result.png`), `result ${i}`);
}

describe('resilience (real processes)', function () {
  this.timeout(300_000);

  for (const kind of ['gpu-worker', 'cpu-worker'] as const) {
    it(`finishes every item exactly once after the ${kind} is killed with SIGKILL mid-job and restarted`, async () => {
      const db = await createTestDatabase('sqlite');
      // The killed fleet runs as a child process; the other one runs in this process.
      const stack = await startTestSystem(db, kind === 'gpu-worker' ? { gpu: false } : { cpu: false });
      let worker: ManagedProcess | undefined;
      try {
        worker = await spawnWorker(kind, stack);
        const n = 8;
        const job = await startJob(stack, n, [1600, 1200]);
        const mid = await waitForJob(stack.api, job.token, job.jobId, (v) => v.progress.done >= 1, 120_000);
        assert.ok(mid.progress.done < n, 'killed before the end');
        process.kill(worker.pid, 'SIGKILL');
        await worker.exited;
        worker = await spawnWorker(kind, stack); // its items come back after the heartbeat timeout
        await assertCompletedOnce(stack, db.ds, job, n);
      } finally {
        await worker?.stop(1000);
        await stack.close();
        await db.drop();
      }
    });
  }

  it('finishes a job across a restart of the Temporal dev server (state kept in its SQLite file)', async () => {
    const dir = makeTempDir('temporal-restart');
    const dbFile = join(dir, 'temporal.sqlite');
    let temporal = await startTestTemporal({ dbFile });
    const port = Number(temporal.address.split(':').pop());
    const db = await createTestDatabase('sqlite');
    const stack = await startTestSystem(db, { env: { TEMPORAL_ADDRESS: temporal.address } });
    try {
      const n = 6;
      const job = await startJob(stack, n, [1600, 1200]);
      await waitForJob(stack.api, job.token, job.jobId, (v) => v.progress.done >= 1, 120_000);
      await temporal.stop();
      await new Promise((r) => setTimeout(r, 2000));
      temporal = await startTestTemporal({ dbFile, port });
      await assertCompletedOnce(stack, db.ds, job, n);
    } finally {
      await stack.close();
      await temporal.stop();
      await db.drop();
    }
  });
});
