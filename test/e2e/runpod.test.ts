/**
 * GPU_PROVIDER=runpod end to end, over HTTP: API → Temporal → the Runpod dispatcher → Runpod's own local API server
 * (`python handler.py --rp_serve_api`, pinned `runpod` package) running our handler and the real engine on the
 * contract fixture → webhook back to the API (/providers/runpod/...) or the dispatcher's /status poll.
 * The front in scripts/runpod-local adds what the local server lacks and these tests need: Runpod's REST paths,
 * a queue (IN_QUEUE, held on demand), /cancel, delayTime/executionTime, and webhook delivery — which it can drop
 * (lost webhook) or replace by a forced FAILED / TIMED_OUT outcome. Everything else is the real code.
 */
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { encodeScene, interiorScene } from '../../scripts/demo/scenes';
import { startRunpodLocal, type RunpodLocal } from '../../scripts/runpod-local';
import { createRunpodDispatcher } from '../../gpu-activities/runpodDispatcher';
import { jobWorkflowId } from '../../workflows/contract';
import { createTestDatabase } from '../support/databases';
import { startTestSystem, TEST_MODEL_DIR, uploadAll, waitForJob, type TestSystem } from '../support/stack';

const terminal = (v: any) => ['done', 'failed', 'canceled'].includes(v.status);

describe('GPU_PROVIDER=runpod: items segmented on Runpod (local API server), completed by webhook or poll', function () {
  this.timeout(180_000);
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let system: TestSystem;
  let runpod: RunpodLocal;
  let connection: NativeConnection;
  let clientConnection: Connection;
  let dispatcher: { worker: Worker; close(): Promise<void> };
  let run: Promise<void>;
  const logs: { msg: string; fields: Record<string, unknown> }[] = [];

  before(async () => {
    db = await createTestDatabase('sqlite');
    system = await startTestSystem(db, { gpu: false });
    runpod = await startRunpodLocal({ env: { ...process.env, MODEL_DIR: TEST_MODEL_DIR, LOG_LEVEL: 'warn' }, webhookRetryMs: 200 });
    connection = await NativeConnection.connect({ address: system.config.TEMPORAL_ADDRESS });
    clientConnection = await Connection.connect({ address: system.config.TEMPORAL_ADDRESS });
    const client = new Client({ connection: clientConnection, namespace: system.config.TEMPORAL_NAMESPACE });
    const record = (fields: Record<string, unknown>, msg: string) => logs.push({ msg, fields });
    dispatcher = await createRunpodDispatcher(
      connection,
      client,
      { ...system.config, ...runpod.env, RUNPOD_WEBHOOK_URL: system.api.url, RUNPOD_POLL_INTERVAL: '2s' },
      { info: record, warn: record } as never,
    );
    run = dispatcher.worker.run();
  });
  after(async () => {
    dispatcher?.worker.shutdown();
    await run;
    await dispatcher?.close();
    await Promise.allSettled([connection?.close(), clientConnection?.close()]);
    await runpod?.stop();
    await system?.close();
    await db?.drop();
  });

  /** Creates, uploads, confirms and executes a job of `files`; returns its id and the user's token. */
  async function startJob(files: Buffer[]): Promise<{ token: string; jobId: string }> {
    const { token } = await system.api.signUp();
    const created = await system.api.request('POST', '/jobs', {
      token,
      body: { preset_id: 'interior', item_count: files.length, content_type: 'image/png', sizes: files.map((f) => f.length) },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await uploadAll(created.body.data.uploads, files);
    const jobId = created.body.data.job.id;
    assert.equal((await system.api.request('POST', `/jobs/${jobId}/confirm-upload`, { token })).status, 200);
    const exec = await system.api.request('POST', `/jobs/${jobId}/execute`, {
      token,
      body: {
        concepts: ['wall', 'floor'],
        protect: ['person'],
        params: { operations: [{ concept: 'wall', op: 'recolor', color: '#A3B18A' }] },
      },
    });
    assert.equal(exec.status, 202, JSON.stringify(exec.body));
    return { token, jobId };
  }
  const scenes = (n: number, from = 0) => Promise.all(Array.from({ length: n }, (_, i) => encodeScene(interiorScene(from + i), 'png')));
  const runpodJobsOf = (jobId: string) => [...runpod.jobs.values()].filter((j) => (j.input as any).item.jobId === jobId);
  const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 60_000) => {
    for (const end = Date.now() + ms; !(await ok()); await new Promise((r) => setTimeout(r, 100)))
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  };

  it('runs every item of a job on Runpod and completes each by its webhook', async () => {
    const { token, jobId } = await startJob(await scenes(3));
    const view = await waitForJob(system.api, token, jobId, terminal, 120_000);
    assert.equal(view.status, 'done', JSON.stringify(view.items.map((i: any) => i.error)));
    assert.deepEqual(view.credits, { reserved: 3, charged: 3, refunded: 0 });
    const jobs = runpodJobsOf(jobId);
    assert.deepEqual(jobs.map((j) => (j.input as any).item.idx).sort(), [0, 1, 2], 'one Runpod job per item');
    for (const j of jobs) {
      assert.equal(j.status, 'COMPLETED');
      assert.match(j.webhook!, new RegExp(`^${system.api.url}/providers/runpod/${jobId}/\\d/[\\w-]+\\.[\\w-]{43}$`));
      assert.ok(j.policy!.executionTimeout! > 5000 && j.policy!.ttl! >= 10_000, JSON.stringify(j.policy));
      assert.ok(
        runpod.deliveries.some((d) => d.id === j.id && d.httpStatus === 200),
        `webhook of ${j.id} accepted`,
      );
    }
    for (const item of view.items) {
      // The engine on Runpod found the fixture's wall colour: masks and rules are the real ones.
      assert.ok(item.checks.coverage.wall > 0.3, JSON.stringify(item.checks.coverage));
      assert.equal((await fetch(item.result_url)).status, 200);
    }
    // A late duplicate of a webhook changes nothing.
    const first = jobs[0];
    const again = await fetch(first.webhook!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: first.id, status: 'FAILED', error: 'late' }),
    });
    assert.equal(again.status, 200);
    assert.deepEqual(((await again.json()) as any).data, { accepted: false, duplicate: true });
    assert.equal((await system.api.request('GET', `/jobs/${jobId}`, { token })).body.data.status, 'done');
  });

  it('refuses a webhook whose URL token was not minted for that job and item', async () => {
    const [j] = runpod.jobs.values();
    const other = j.webhook!.replace(
      /\/providers\/runpod\/([^/]+)\/(\d+)\//,
      (_, job, idx) => `/providers/runpod/${job}/${Number(idx) + 1}/`,
    );
    const forged = j.webhook!.replace(/\.[\w-]{43}$/, `.${'A'.repeat(43)}`);
    for (const url of [other, forged]) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: j.id, status: 'COMPLETED' }),
      });
      assert.equal(res.status, 404, url);
      assert.equal(((await res.json()) as any).error.code, 'NOT_FOUND');
    }
  });

  it('completes an item whose webhook was lost by polling /status', async () => {
    runpod.faults.dropWebhooks = 1;
    const { token, jobId } = await startJob(await scenes(1, 3));
    const view = await waitForJob(system.api, token, jobId, terminal, 60_000);
    assert.equal(view.status, 'done');
    const [j] = runpodJobsOf(jobId);
    assert.deepEqual(
      runpod.deliveries.filter((d) => d.id === j.id).map((d) => d.httpStatus),
      [-1],
      'the only delivery was dropped',
    );
    const finished = logs.find((l) => l.msg === 'Runpod job finished' && l.fields.runpodJobId === j.id);
    assert.equal(finished?.fields.via, 'poll');
    assert.equal(typeof finished?.fields.executionMs, 'number', 'queue and execution times are reported');
  });

  it('retries an item after Runpod reports TIMED_OUT and then FAILED', async () => {
    runpod.faults.outcomes.push('TIMED_OUT', 'FAILED');
    const { token, jobId } = await startJob(await scenes(1, 4));
    const view = await waitForJob(system.api, token, jobId, terminal, 90_000);
    assert.equal(view.status, 'done', JSON.stringify(view.items));
    assert.deepEqual(view.credits, { reserved: 1, charged: 1, refunded: 0 });
    // Each attempt is a new Runpod job (a new task token, so a new webhook URL).
    const jobs = runpodJobsOf(jobId);
    assert.deepEqual(
      jobs.map((j) => j.status),
      ['TIMED_OUT', 'FAILED', 'COMPLETED'],
    );
    assert.equal(new Set(jobs.map((j) => j.webhook)).size, 3);
  });

  it('fails a bad image once, for good: the engine’s non-retryable failure crosses Runpod intact', async () => {
    const { token, jobId } = await startJob([Buffer.from('not an image at all')]);
    const view = await waitForJob(system.api, token, jobId, terminal, 60_000);
    assert.equal(view.status, 'failed');
    assert.equal(view.items[0].error.code, 'INVALID_IMAGE');
    assert.deepEqual(view.credits, { reserved: 1, charged: 0, refunded: 1 });
    assert.deepEqual(
      runpodJobsOf(jobId).map((j) => j.status),
      ['FAILED'],
      'not retried',
    );
  });

  it('keeps items waiting in the queue alive past the heartbeat timeout, then cancels them on Runpod with the job', async () => {
    runpod.faults.hold = true;
    try {
      const { token, jobId } = await startJob(await scenes(2, 5));
      await until('both items on Runpod', () => runpodJobsOf(jobId).length === 2);
      // Longer than the items' 20 s heartbeat timeout: the dispatcher's heartbeats keep the attempts alive.
      await new Promise((r) => setTimeout(r, 23_000));
      assert.equal(runpodJobsOf(jobId).length, 2, 'no attempt timed out and was resubmitted');
      const described = await system.client.workflow.getHandle(jobWorkflowId(jobId)).describe();
      const details = (described.raw.pendingActivities ?? []).map((a) =>
        defaultPayloadConverter.fromPayload<any>(a.heartbeatDetails!.payloads![0]),
      );
      assert.deepEqual(
        details.map((d) => [d.idx, d.runpodJobId, d.status]).sort(),
        runpodJobsOf(jobId)
          .map((j) => [(j.input as any).item.idx, j.id, 'IN_QUEUE'])
          .sort(),
        'the heartbeat details name each item and its Runpod job',
      );
      const cancel = await system.api.request('POST', `/jobs/${jobId}/cancel`, { token });
      assert.ok([200, 202].includes(cancel.status), JSON.stringify(cancel.body));
      const view = await waitForJob(system.api, token, jobId, terminal, 30_000);
      assert.equal(view.status, 'canceled');
      assert.deepEqual(view.credits, { reserved: 2, charged: 0, refunded: 2 });
      assert.deepEqual(
        runpodJobsOf(jobId)
          .map((j) => [j.status, runpod.cancels.includes(j.id)])
          .sort(),
        [
          ['CANCELLED', true],
          ['CANCELLED', true],
        ],
      );
    } finally {
      runpod.release();
    }
  });
});
