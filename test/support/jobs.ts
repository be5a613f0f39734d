/** An interior job driven over the API, and what "every item done exactly once" means for it (real-process suites). */
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { createCredits } from '../../services/credits';
import { encodeScene, interiorScene } from '../../scripts/demo/scenes';
import { uploadAll, uploadSizes, waitForJob, type TestSystem } from './stack';

/** Creates, uploads, confirms and executes an `n`-item interior job (wall and floor) of a new user. */
export async function startJob(stack: TestSystem, n: number, size: [number, number]) {
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

/** Waits for the job to end and asserts it is done with every item charged once, in the ledger too, and stored. */
export async function assertCompletedOnce(
  stack: TestSystem,
  ds: DataSource,
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
