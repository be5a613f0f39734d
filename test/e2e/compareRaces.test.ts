import assert from 'node:assert/strict';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { NativeConnection, type ActivityInterceptorsFactory, type Worker } from '@temporalio/worker';
import { createCpuWorker } from '../../activities/cpuWorker';
import type { ApplyRuleInput } from '../../activities/contract';
import { MAX_RUNNING_EXPORTS } from '../../domain/exports';
import { PLANS } from '../../domain/plans';
import { encodeScene, interiorScene } from '../../scripts/demo/scenes';
import { createCredits } from '../../services/credits';
import { describeEachDatabase } from '../support/databases';
import { startTestSystem, uploadAll, waitForJob, type TestSystem } from '../support/stack';

const ITEMS = 8;
/** Items of the canceled variant that render before the cancel; the others are held on the CPU worker until it. */
const RENDERED = 3;
const terminal = (v: any) => ['done', 'failed', 'canceled'].includes(v.status);
const wall = (color: string) => ({ params: { operations: [{ concept: 'wall', op: 'recolor', color }], feather_px: 0 } });

/**
 * A switch on the suite's CPU worker (a real one, in this process): activity executions it selects wait — heartbeating,
 * so a cancel reaches them exactly as it reaches a slow item — until the test releases them or Temporal cancels them.
 * That makes "some items rendered, the rest still in flight" a state the test reaches, not a timing it hopes for.
 */
class Gate {
  /** Which executions wait; null lets everything through. */
  select: ((activityType: string, input: unknown) => boolean) | null = null;
  /** Executions of any activity on the worker right now. */
  inFlight = 0;
  held = 0;
  heldCanceled = 0;
  private open!: () => void;
  private opened = new Promise<void>((r) => (this.open = r));

  release(): void {
    this.select = null;
    this.open();
    this.opened = new Promise<void>((r) => (this.open = r));
  }

  interceptor: ActivityInterceptorsFactory = (ctx) => ({
    inbound: {
      execute: async (input, next) => {
        this.inFlight++;
        try {
          if (this.select?.(ctx.info.activityType, input.args[0])) {
            this.held++;
            const beat = setInterval(() => ctx.heartbeat(), 200);
            try {
              await Promise.race([this.opened, ctx.cancelled]);
            } catch (err) {
              this.heldCanceled++;
              throw err;
            } finally {
              clearInterval(beat);
            }
          }
          return await next(input);
        } finally {
          this.inFlight--;
        }
      },
    },
  });
}

describeEachDatabase('compare races: cancel mid-variant, per-plan limits under concurrent requests', (db) => {
  let stack: TestSystem;
  let connection: NativeConnection;
  let cpu: { worker: Worker; close(): Promise<void>; run: Promise<void> };
  let s3: S3Client;
  const gate = new Gate();
  let token: string;
  let userId: string;
  let jobId: string;

  before(async function () {
    this.timeout(240_000);
    stack = await startTestSystem(db(), { cpu: false });
    connection = await NativeConnection.connect({ address: stack.config.TEMPORAL_ADDRESS });
    const created = await createCpuWorker(connection, stack.config, { interceptors: { activity: [gate.interceptor] } });
    cpu = { ...created, run: created.worker.run() };
    s3 = new S3Client({
      endpoint: stack.config.STORAGE_S3_ENDPOINT,
      region: stack.config.STORAGE_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: stack.config.STORAGE_ACCESS_KEY, secretAccessKey: stack.config.STORAGE_SECRET_KEY },
    });
    ({ token, userId } = await stack.api.signUp());
    const scenes = Array.from({ length: ITEMS }, (_, i) => interiorScene(i));
    const files = await Promise.all(scenes.map((s) => encodeScene(s, 'png')));
    const res = await post('/jobs', {
      preset_id: 'interior',
      item_count: ITEMS,
      content_type: 'image/png',
      sizes: files.map((f) => f.length),
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    jobId = res.body.data.job.id;
    await uploadAll(res.body.data.uploads, files);
    assert.equal((await post(`/jobs/${jobId}/confirm-upload`, {})).status, 200);
    const exec = await post(`/jobs/${jobId}/execute`, { concepts: ['wall'], protect: ['person'], ...wall('#A3B18A') });
    assert.equal(exec.status, 202, JSON.stringify(exec.body));
    const job = await waitForJob(stack.api, token, jobId, terminal, 180_000);
    assert.equal(job.status, 'done');
    assert.equal(job.progress.done, ITEMS);
  });
  after(async () => {
    gate.release();
    if (cpu) {
      cpu.worker.shutdown();
      await cpu.run;
      await cpu.close();
    }
    await connection?.close();
    s3?.destroy();
    await stack?.close();
  });

  function post(path: string, body: unknown) {
    return stack.api.request('POST', path, { token, body });
  }
  const getVariant = async (n: number) => {
    const res = await stack.api.request('GET', `/jobs/${jobId}/variants/${n}`, { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data;
  };
  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  /** Every object under `prefix`, with its ETag and time of writing. */
  async function list(prefix: string): Promise<{ key: string; etag: string; modified: number }[]> {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: stack.config.STORAGE_BUCKET, Prefix: prefix }));
    return (out.Contents ?? [])
      .map((o) => ({ key: o.Key!, etag: o.ETag!, modified: o.LastModified!.getTime() }))
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  it('cancels a variant mid-way: the rendered items are charged and kept, the rest refunded, nothing written after', async function () {
    this.timeout(180_000);
    // The first RENDERED executions of the variant's applyRule run; later ones wait on the worker until canceled.
    let passed = 0;
    gate.select = (type, input) => type === 'applyRule' && ((input as ApplyRuleInput).variant ?? 0) > 0 && ++passed > RENDERED;
    const res = await post(`/jobs/${jobId}/variants`, wall('#2F3E5C'));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const n: number = res.body.data.n;
    const reserved = Math.ceil(ITEMS / PLANS.free.variantItemsPerCredit);
    assert.equal(res.body.data.credits.reserved, reserved);

    // Mid-variant: RENDERED items done, at least one more item in flight on the CPU worker, none of it finished.
    const mid = await until('the variant to render its first items', async () => {
      const v = await getVariant(n);
      return v.progress.done >= RENDERED && gate.held >= 1 ? v : undefined;
    });
    assert.equal(mid.status, 'running');
    assert.equal(mid.progress.done, RENDERED);
    assert.ok(gate.held >= 1 && gate.heldCanceled === 0);

    const canceled = await post(`/jobs/${jobId}/variants/${n}/cancel`, {});
    const answeredAt = Date.now();
    assert.equal(canceled.status, 200, JSON.stringify(canceled.body));
    // The cancel answers once every item in flight acknowledged it (WAIT_CANCELLATION_COMPLETED): nothing runs now.
    assert.equal(gate.inFlight, 0, 'no activity still running when the cancel answered');
    assert.equal(gate.heldCanceled, gate.held, 'every held item ended canceled, none was released');
    const v = canceled.body.data;
    assert.equal(v.status, 'canceled');
    const doneIdx = v.items.filter((i: any) => i.status === 'done').map((i: any) => i.idx);
    assert.equal(doneIdx.length, RENDERED);
    assert.deepEqual(
      v.items.filter((i: any) => i.status !== 'done').map((i: any) => i.status),
      Array(ITEMS - RENDERED).fill('canceled'),
    );
    const charged = Math.ceil(RENDERED / PLANS.free.variantItemsPerCredit);
    assert.deepEqual(v.credits, { reserved, charged, refunded: reserved - charged });
    assert.ok(v.credits.refunded > 0, 'the test renders too few items to pay for the whole reservation');

    // The ledger under the variant's ref: one reserve, settled once into charge + release of exactly that amount.
    const ledger = (await createCredits(db().ds).ledger(userId)).filter((e) => e.ref === `${jobId}:v${n}`);
    assert.deepEqual(
      ledger.map((e) => [e.kind, e.amount]),
      [
        ['reserve', reserved],
        ['charge', charged],
        ['release', reserved - charged],
      ],
    );
    const me = (await stack.api.request('GET', '/me', { token })).body.data;
    assert.deepEqual(me.credits, {
      balance: PLANS.free.signupCredits - ITEMS - charged,
      reserved: 0,
      available: PLANS.free.signupCredits - ITEMS - charged,
    });

    // Storage holds the rendered items' results and previews under v{n}/, and only those.
    const expected = (dir: string, suffix: string) => doneIdx.map((i: number) => `${dir}/${userId}/${jobId}/v${n}/${i}${suffix}`).sort();
    const results = await list(`outputs/${userId}/${jobId}/v${n}/`);
    const previews = await list(`previews/${userId}/${jobId}/v${n}/`);
    assert.deepEqual(
      results.map((o) => o.key),
      expected('outputs', '_result.png'),
    );
    assert.deepEqual(
      previews.map((o) => o.key),
      expected('previews', '_thumb.jpg'),
    );
    // Nothing lands afterwards: wait past a heartbeat round (a straggler would write within it) and look again.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(gate.inFlight, 0);
    assert.deepEqual(await list(`outputs/${userId}/${jobId}/v${n}/`), results);
    assert.deepEqual(await list(`previews/${userId}/${jobId}/v${n}/`), previews);
    for (const o of [...results, ...previews]) assert.ok(o.modified <= answeredAt, `${o.key} written before the cancel answered`);
    assert.equal((await getVariant(n)).status, 'canceled');
  });

  it('lets exactly the plan’s number of concurrent variant requests through; the rest get 409 VARIANT_LIMIT_REACHED', async function () {
    this.timeout(180_000);
    gate.release();
    const shown = (await stack.api.request('GET', `/jobs/${jobId}`, { token })).body.data.variants.length;
    const left = PLANS.free.maxVariantsPerJob - shown;
    // At most the plan's active-job limit may run at once, or the ledger (429) rather than the limit would refuse.
    assert.ok(left >= 1 && left <= PLANS.free.maxActiveJobs, `slots left: ${left}`);
    const colors = ['#C0603A', '#2F3E5C', '#6B8F71', '#D9C5A0', '#8E5572', '#3C6E71', '#B5651D', '#556B2F'];
    const answers = await Promise.all(colors.map((c) => post(`/jobs/${jobId}/variants`, wall(c))));
    const accepted = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status !== 202);
    assert.equal(accepted.length, left, JSON.stringify(answers.map((a) => [a.status, a.body.error?.code])));
    for (const r of refused) {
      assert.equal(r.status, 409);
      assert.equal(r.body.error.code, 'VARIANT_LIMIT_REACHED');
      assert.equal(r.body.error.details.limit, PLANS.free.maxVariantsPerJob);
    }
    const numbers = accepted.map((a) => a.body.data.n).sort();
    assert.deepEqual(
      numbers,
      Array.from({ length: left }, (_, i) => shown + 1 + i),
    );
    for (const n of numbers) {
      const v = await until(`variant ${n} to end`, async () => ((v) => (terminal(v) ? v : undefined))(await getVariant(n)));
      assert.equal(v.status, 'done');
    }
    const job = (await stack.api.request('GET', `/jobs/${jobId}`, { token })).body.data;
    assert.equal(job.variants.length, PLANS.free.maxVariantsPerJob);
    const again = await post(`/jobs/${jobId}/variants`, wall('#FFFFFF'));
    assert.equal(again.body.error?.code, 'VARIANT_LIMIT_REACHED');
  });

  it(`lets exactly ${MAX_RUNNING_EXPORTS} concurrent exports run per user; the rest get 429 TOO_MANY_ACTIVE_JOBS`, async function () {
    this.timeout(180_000);
    gate.select = (type) => type === 'buildExport'; // nothing finishes while the requests race: all count as running
    const bodies = Array.from({ length: MAX_RUNNING_EXPORTS + 10 }, (_, i) => ({
      template: 'grid',
      options: { max_side: 300 + i, labels: false },
    }));
    const answers = await Promise.all(bodies.map((b) => post(`/jobs/${jobId}/exports`, b)));
    const accepted = answers.filter((a) => a.status === 202);
    assert.equal(accepted.length, MAX_RUNNING_EXPORTS, JSON.stringify(answers.map((a) => [a.status, a.body.error?.code])));
    for (const r of answers.filter((a) => a.status !== 202)) {
      assert.equal(r.status, 429);
      assert.equal(r.body.error.code, 'TOO_MANY_ACTIVE_JOBS');
      assert.equal(r.body.error.details.limit, MAX_RUNNING_EXPORTS);
    }
    gate.release();
    for (const a of accepted) {
      const ex = await until(`export ${a.body.data.id}`, async () => {
        const view = (await stack.api.request('GET', `/jobs/${jobId}/exports/${a.body.data.id}`, { token })).body.data;
        return view.status === 'done' || view.status === 'failed' ? view : undefined;
      });
      assert.equal(ex.status, 'done');
    }
    // Two identical concurrent requests make one export, not two.
    const twins = await Promise.all([1, 2].map(() => post(`/jobs/${jobId}/exports`, { template: 'grid', options: { max_side: 256 } })));
    assert.deepEqual(twins.map((t) => t.status).sort(), [200, 202]);
    assert.equal(twins[0].body.data.id, twins[1].body.data.id);
  });
});
