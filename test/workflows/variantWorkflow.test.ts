import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { JobVariantLog } from '../../entities/JobVariantLog';
import { cancelVariantUpdate } from '../../workflows/variantContract';
import { createTestEnv, eventually, startHarness, type Harness } from './harness';
import { createVariant } from './variantHarness';

/** What the DB-mirror activities of one run carried, from its history: their count, input bytes and item states. */
async function mirrorWrites(handle: WorkflowHandle) {
  const info = (await handle.describe()).raw.workflowExecutionInfo;
  const history = await handle.fetchHistory();
  let count = 0;
  let bytes = 0;
  const items: { idx: number; status: string }[] = [];
  for (const e of history.events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (!a?.activityType?.name?.startsWith('recordVariant')) continue;
    count++;
    for (const p of a.input?.payloads ?? []) {
      bytes += p.data?.length ?? 0;
      const record = JSON.parse(Buffer.from(p.data ?? []).toString('utf8')) as { items?: { idx: number; status: string }[] };
      items.push(...(record.items ?? []));
    }
  }
  return { count, bytes, items, historyBytes: Number(info?.historySizeBytes ?? 0), events: history.events?.length ?? 0 };
}

describe('variant workflow', function () {
  let env: TestWorkflowEnvironment;
  let h: Harness;

  before(async function () {
    this.timeout(180_000);
    env = await createTestEnv();
    h = await startHarness(env);
  });
  after(async function () {
    this.timeout(60_000);
    await h?.stop();
    await env?.teardown();
  });

  const row = (jobId: string) => h.db.ds.getRepository(JobVariantLog).findOneByOrFail({ jobId, n: 1 });

  it('renders every item, charges the done ones and mirrors the variant to the DB', async () => {
    const { input, reserve, handle } = await createVariant(h, { itemCount: 5, plan: { invalid: [1] } });
    assert.deepEqual(reserve, { ok: true, amount: 2 });
    const final = await handle.result();
    assert.equal(final.status, 'done');
    assert.deepEqual(final.credits, { reserved: 2, charged: 1, refunded: 1 });
    const r = await row(input.jobId);
    assert.deepEqual([r.status, r.creditsReserved, r.creditsCharged, r.creditsRefunded], ['done', 2, 1, 1]);
    assert.ok(r.finishedAt);
    assert.deepEqual(
      r.items?.map((i) => [i.idx, i.status, i.error?.code]),
      [
        [0, 'done', undefined],
        [1, 'failed', 'INVALID_IMAGE'],
        [2, 'done', undefined],
        [3, 'done', undefined],
        [4, 'done', undefined],
      ],
    );
    assert.deepEqual(r.items, final.items, 'the mirror holds exactly the final state');
  });

  it('a canceled variant mirrors its canceled items and refunds them', async () => {
    const { input, handle } = await createVariant(h, { itemCount: 4, maxInFlight: 2, plan: { hang: [1] } });
    await eventually(() => h.gpu.started.get(input.jobId)?.includes(1) ?? false);
    const answer = await handle.executeUpdate(cancelVariantUpdate);
    assert.equal(answer.status, 'canceled');
    const final = await handle.result();
    const r = await row(input.jobId);
    assert.equal(r.status, 'canceled');
    assert.deepEqual(r.items, final.items);
    assert.equal(r.items?.find((i) => i.idx === 1)?.status, 'canceled');
  });

  it('keeps its history linear in the items: 500 items mirror each result once, well under the history limit', async function () {
    this.timeout(300_000);
    const N = 500;
    const { input, handle } = await createVariant(h, { itemCount: N, maxInFlight: 8, plan: { delayMs: 20 } });
    const final = await handle.result();
    assert.equal(final.status, 'done');
    assert.equal(final.progress.done, N);
    const w = await mirrorWrites(handle).catch((err: unknown) => {
      throw new Error(`history of ${N} items: ${String(err)}`);
    });
    console.log(`      ${N} items: ${w.count} recordVariant* inputs = ${w.bytes} B, history ${w.historyBytes} B in ${w.events} events`);
    // Each item travels at most twice (running, then done; ~0.3 KB in all): whole-state flushes carried every item on
    // every flush, ~N²/2 item states when items finish one by one (~124 MB for 500).
    const all = Array.from({ length: N }, (_, i) => i);
    const idxsOf = (status: string) => w.items.filter((i) => i.status === status).map((i) => i.idx);
    assert.deepEqual(
      idxsOf('done').sort((a, b) => a - b),
      all,
      'every item is mirrored done exactly once',
    );
    assert.ok(new Set(idxsOf('running')).size === idxsOf('running').length, 'an item is mirrored running at most once');
    assert.equal(w.items.length, N + idxsOf('running').length);
    assert.ok(w.bytes < N * 600, `mirror inputs ${w.bytes} B for ${N} items`);
    assert.ok(w.historyBytes < 2 * 1024 * 1024, `history ${w.historyBytes} B for ${N} items`);
    const r = await row(input.jobId);
    assert.equal(r.status, 'done');
    assert.equal(r.items?.length, N);
    assert.ok(r.items?.every((i, k) => i.idx === k && i.status === 'done' && i.resultKey && i.checks));
  });
});
