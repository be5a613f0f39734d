import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { v7 as uuidv7 } from 'uuid';
import { BillingEvent } from '../../entities/BillingEvent';
import { JobItemLog } from '../../entities/JobItemLog';
import { JobLog } from '../../entities/JobLog';
import { User } from '../../entities/User';
import { inputKey, type UploadContentType } from '../../domain/storageKeys';
import {
  INVALID_STATE,
  cancelSignal,
  cancelUpdate,
  confirmUploadUpdate,
  executeUpdate,
  reserveUpdate,
  stateQuery,
} from '../../workflows/contract';
import { JOB_STATUS_KEY, PRESET_ID_KEY, USER_ID_KEY } from '../../workflows/searchAttributes';
import { toHistoryJson } from './historyJson';
import { EXECUTE, createJob, createTestEnv, eventually, startHarness, type Harness } from './harness';

/** Asserts that `p` fails as an update rejected with ApplicationFailure type INVALID_STATE (the API's 409). */
async function rejectsInvalidState(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof WorkflowUpdateFailedError, `expected WorkflowUpdateFailedError, got ${String(err)}`);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, INVALID_STATE);
    return true;
  });
}

describe('job workflow', function () {
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

  const ledger = async (jobId: string) =>
    (await h.db.ds.getRepository(BillingEvent).find({ where: { jobId }, order: { id: 'ASC' } })).map((e) => [e.kind, e.amount]);
  const userRow = (id: string) => h.db.ds.getRepository(User).findOneByOrFail({ id });

  it('happy path: reserves N, processes every item, charges N and mirrors the job to the DB', async () => {
    const { input, reserve, handle } = await createJob(h, { itemCount: 3 });
    assert.deepEqual(reserve, { ok: true, amount: 3 });
    assert.deepEqual(await handle.executeUpdate(reserveUpdate), reserve, 'a repeated reserve returns the first outcome');
    assert.equal((await handle.executeUpdate(confirmUploadUpdate)).status, 'uploaded');
    assert.equal((await handle.executeUpdate(confirmUploadUpdate)).status, 'uploaded', 'confirm-upload is idempotent');
    assert.equal((await handle.executeUpdate(executeUpdate, { args: [EXECUTE] })).status, 'queued');
    const final = await handle.result();
    assert.equal(final.status, 'done');
    assert.deepEqual(final.progress, { total: 3, done: 3, failed: 0, running: 0, pending: 0, canceled: 0, percent: 100 });
    assert.deepEqual(final.credits, { reserved: 3, charged: 3, refunded: 0 });
    assert.equal(final.items[2].resultKey, `outputs/${input.userId}/${input.jobId}/2_result.png`);
    assert.deepEqual(Object.keys(final.items[0].masks ?? {}), ['wall', 'person']);
    assert.deepEqual(await ledger(input.jobId), [
      ['reserve', 3],
      ['charge', 3],
      ['release', 0],
    ]);
    const user = await userRow(input.userId);
    assert.deepEqual([user.balance, user.reserved, user.activeJobs], [0, 0, 0]);
    const row = await h.db.ds.getRepository(JobLog).findOneByOrFail({ id: input.jobId });
    assert.deepEqual([row.status, row.creditsReserved, row.creditsCharged, row.creditsRefunded], ['done', 3, 3, 0]);
    assert.deepEqual(row.concepts, ['wall']);
    assert.ok(row.finishedAt);
    const items = await h.db.ds.getRepository(JobItemLog).find({ where: { jobId: input.jobId }, order: { idx: 'ASC' } });
    assert.deepEqual(
      items.map((i) => [i.idx, i.status]),
      [
        [0, 'done'],
        [1, 'done'],
        [2, 'done'],
      ],
    );
    assert.equal(items[1].previewKey, final.items[1].previewKey);
  });

  it('sets the search attributes (user, preset, status) on the execution', async () => {
    const { input, handle } = await createJob(h, { itemCount: 1 });
    let sa = (await handle.describe()).typedSearchAttributes;
    assert.equal(sa.get(USER_ID_KEY), input.userId);
    assert.equal(sa.get(PRESET_ID_KEY), 'interior');
    assert.equal(sa.get(JOB_STATUS_KEY), 'created');
    await handle.executeUpdate(confirmUploadUpdate);
    await handle.executeUpdate(executeUpdate, { args: [EXECUTE] });
    await handle.result();
    sa = (await handle.describe()).typedSearchAttributes;
    assert.equal(sa.get(JOB_STATUS_KEY), 'done');
  });

  it('a bad image fails its item (INVALID_IMAGE, not retried, not charged); the job is done', async () => {
    const { input, handle } = await createJob(h, { itemCount: 3, plan: { invalid: [1] } });
    await handle.executeUpdate(confirmUploadUpdate);
    await handle.executeUpdate(executeUpdate, { args: [EXECUTE] });
    const final = await handle.result();
    assert.equal(final.status, 'done');
    assert.equal(final.items[1].status, 'failed');
    assert.equal(final.items[1].error?.code, 'INVALID_IMAGE');
    assert.deepEqual(final.credits, { reserved: 3, charged: 2, refunded: 1 });
    assert.equal(h.gpu.started.get(input.jobId)?.filter((i) => i === 1).length, 1, 'non-retryable: one attempt');
    assert.deepEqual(await ledger(input.jobId), [
      ['reserve', 3],
      ['charge', 2],
      ['release', 1],
    ]);
    const item = await h.db.ds.getRepository(JobItemLog).findOneByOrFail({ jobId: input.jobId, idx: 1 });
    assert.deepEqual([item.status, item.errorCode], ['failed', 'INVALID_IMAGE']);
  });

  it('every item failing fails the job and refunds everything', async () => {
    const { input, handle } = await createJob(h, { itemCount: 2, plan: { invalid: [0, 1] } });
    await handle.executeUpdate(confirmUploadUpdate);
    await handle.executeUpdate(executeUpdate, { args: [EXECUTE] });
    const final = await handle.result();
    assert.equal(final.status, 'failed');
    assert.deepEqual(await ledger(input.jobId), [
      ['reserve', 2],
      ['release', 2],
    ]);
  });

  it('an item whose GPU worker went silent is retried after the heartbeat timeout', async function () {
    this.timeout(90_000);
    const { input, handle } = await createJob(h, { itemCount: 2, plan: { stallFirstAttempt: [0] } });
    await handle.executeUpdate(confirmUploadUpdate);
    await handle.executeUpdate(executeUpdate, { args: [EXECUTE] });
    const final = await handle.result();
    assert.equal(final.status, 'done');
    assert.equal(final.progress.done, 2);
    assert.equal(h.gpu.started.get(input.jobId)?.filter((i) => i === 0).length, 2, 'one silent attempt, one retry');
  });

  it('cancel mid-run: in-flight items stop, no new item starts, done items are charged, the rest refunded', async () => {
    const { input, handle } = await createJob(h, { itemCount: 6, maxInFlight: 2, plan: { hang: [2, 3] } });
    await handle.executeUpdate(confirmUploadUpdate);
    await handle.executeUpdate(executeUpdate, { args: [EXECUTE] });
    await eventually(() => ['2', '3'].every((i) => h.gpu.started.get(input.jobId)?.includes(Number(i)) ?? false));
    const running = await handle.query(stateQuery);
    assert.equal(running.status, 'running');
    assert.equal(running.progress.running, 2);
    await handle.signal(cancelSignal); // fire-and-forget first; the update then waits for the same settlement
    const final = await handle.executeUpdate(cancelUpdate);
    assert.equal(final.status, 'canceled');
    assert.deepEqual(
      final.items.map((i) => i.status),
      ['done', 'done', 'canceled', 'canceled', 'canceled', 'canceled'],
    );
    assert.deepEqual(final.credits, { reserved: 6, charged: 2, refunded: 4 });
    assert.deepEqual([...(h.gpu.canceled.get(input.jobId) ?? [])].sort(), [2, 3], 'WAIT_CANCELLATION: both hanging items saw the cancel');
    assert.equal((await handle.result()).status, 'canceled');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual([...(h.gpu.started.get(input.jobId) ?? [])].sort(), [0, 1, 2, 3], 'no item started after the cancel');
    assert.deepEqual(await ledger(input.jobId), [
      ['reserve', 6],
      ['charge', 2],
      ['release', 4],
    ]);
    assert.equal((await h.db.ds.getRepository(JobLog).findOneByOrFail({ id: input.jobId })).status, 'canceled');
  });

  /** Size of each input object of the job in the store, null where there is none. */
  const inputSizes = (input: { userId: string; jobId: string; itemCount: number; contentType: UploadContentType }) =>
    Promise.all(
      Array.from(
        { length: input.itemCount },
        async (_, idx) => (await h.storage.head(inputKey(input.userId, input.jobId, idx, input.contentType)))?.size ?? null,
      ),
    );

  it('cancel before the upload cancels the job, seals its free input keys before answering, and releases everything', async () => {
    const { input, handle } = await createJob(h, { itemCount: 3 });
    // One input arrived before the cancel: it stays as it is; the other keys get empty placeholders (the tickets'
    // If-None-Match: * then fails at the store).
    await h.storage.put(inputKey(input.userId, input.jobId, 1, input.contentType), Buffer.from([0xff, 0xd8, 0xff]), 'image/jpeg');
    const final = await handle.executeUpdate(cancelUpdate);
    assert.equal(final.status, 'canceled');
    assert.deepEqual(await inputSizes(input), [0, 3, 0], 'sealed by the time cancel answered');
    assert.deepEqual(await ledger(input.jobId), [
      ['reserve', 3],
      ['release', 3],
    ]);
    assert.equal((await userRow(input.userId)).reserved, 0);
  });

  it('seals nothing for a job whose uploads were confirmed', async () => {
    const { input, handle } = await createJob(h, { itemCount: 2 });
    await handle.executeUpdate(confirmUploadUpdate);
    assert.equal((await handle.executeUpdate(cancelUpdate)).status, 'canceled');
    assert.deepEqual(await inputSizes(input), [null, null]);
  });

  it('upload timeout: failed UPLOAD_TIMEOUT, credits released', async function () {
    this.timeout(30_000);
    const { input, handle } = await createJob(h, { itemCount: 3, uploadTimeout: '2s' });
    const final = await handle.result();
    assert.equal(final.status, 'failed');
    assert.equal(final.error?.code, 'UPLOAD_TIMEOUT');
    assert.deepEqual(final.credits, { reserved: 3, charged: 0, refunded: 3 });
    assert.deepEqual(await ledger(input.jobId), [
      ['reserve', 3],
      ['release', 3],
    ]);
    const row = await h.db.ds.getRepository(JobLog).findOneByOrFail({ id: input.jobId });
    assert.deepEqual([row.status, row.errorCode, row.creditsRefunded], ['failed', 'UPLOAD_TIMEOUT', 3]);
    assert.deepEqual(await inputSizes(input), [null, null, null], 'nothing sealed: its tickets expired with the upload window');
  });

  it('execute timeout: failed EXECUTE_TIMEOUT, credits released', async function () {
    this.timeout(30_000);
    const { input, handle } = await createJob(h, { itemCount: 2, uploadTimeout: '2s' });
    await handle.executeUpdate(confirmUploadUpdate);
    const final = await handle.result();
    assert.equal(final.error?.code, 'EXECUTE_TIMEOUT');
    assert.deepEqual(await ledger(input.jobId), [
      ['reserve', 2],
      ['release', 2],
    ]);
  });

  it('a refused reservation answers INSUFFICIENT_CREDITS and the workflow ends holding nothing', async () => {
    const { input, reserve, handle } = await createJob(h, { itemCount: 3, credits: 1 });
    assert.deepEqual(reserve, { ok: false, code: 'INSUFFICIENT_CREDITS', needed: 3, available: 1 });
    const final = await handle.result();
    assert.equal(final.status, 'failed');
    assert.equal(final.error?.code, 'INSUFFICIENT_CREDITS');
    assert.deepEqual(await ledger(input.jobId), []);
    const user = await userRow(input.userId);
    assert.deepEqual([user.reserved, user.activeJobs], [0, 0]);
  });

  it('an unknown user at reserve fails the update as UNKNOWN_USER (not as an outage) and the job, holding nothing', async () => {
    await assert.rejects(createJob(h, { itemCount: 1, userId: uuidv7() }), (err: unknown) => {
      assert.ok(err instanceof WorkflowUpdateFailedError);
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'UNKNOWN_USER');
      return true;
    });
  });

  it('canceling the workflow run itself (UI, CLI) is handled like a cancel: settled and refunded', async () => {
    const { input, handle } = await createJob(h, { itemCount: 3, maxInFlight: 1, plan: { hang: [1] } });
    await handle.executeUpdate(confirmUploadUpdate);
    await handle.executeUpdate(executeUpdate, { args: [EXECUTE] });
    await eventually(() => h.gpu.started.get(input.jobId)?.includes(1) ?? false);
    await handle.cancel();
    const final = await handle.result();
    assert.equal(final.status, 'canceled');
    assert.deepEqual(
      final.items.map((i) => i.status),
      ['done', 'canceled', 'canceled'],
    );
    assert.deepEqual(await ledger(input.jobId), [
      ['reserve', 3],
      ['charge', 1],
      ['release', 2],
    ]);
  });

  it('rejects wrong-state updates with INVALID_STATE (execute before upload, execute twice)', async () => {
    const { handle } = await createJob(h, { itemCount: 1, plan: { hang: [0] } });
    await rejectsInvalidState(handle.executeUpdate(executeUpdate, { args: [EXECUTE] }));
    await handle.executeUpdate(confirmUploadUpdate);
    await handle.executeUpdate(executeUpdate, { args: [EXECUTE] });
    await rejectsInvalidState(handle.executeUpdate(executeUpdate, { args: [EXECUTE] }));
    assert.equal((await handle.executeUpdate(confirmUploadUpdate)).status !== 'uploaded', true, 'confirm after execute returns the state');
    assert.equal((await handle.executeUpdate(cancelUpdate)).status, 'canceled');
  });

  /** Runs a job of `itemCount` items one at a time, `delayMs` each; returns its recordJob flushes and run seconds. */
  async function flushesOf(itemCount: number, delayMs: number) {
    const { handle } = await createJob(h, { itemCount, maxInFlight: 1, plan: { delayMs } });
    await handle.executeUpdate(confirmUploadUpdate);
    await handle.executeUpdate(executeUpdate, { args: [EXECUTE] });
    assert.equal((await handle.result()).progress.done, itemCount);
    const events = (await handle.fetchHistory()).events ?? [];
    const flushes = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'recordJob').length;
    const at = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) + (e.eventTime?.nanos ?? 0) / 1e9;
    const seconds = at(events[events.length - 1]) - at(events[0]);
    const rows = await h.db.ds.getRepository(JobItemLog).countBy({ jobId: handle.workflowId.replace(/^job-/, ''), status: 'done' });
    assert.equal(rows, itemCount, 'every item still reaches the mirror');
    return { flushes, seconds };
  }

  // Every flush but the last (the drain) starts ≥ 1 s after the previous one: over a run of S seconds at most
  // floor(S) + 2 flushes (the reservation's first, one a second, the final one), however slowly the machine runs.
  // Unthrottled, every completion would flush.
  it('flushes the DB mirror at most once a second while items finish one by one', async function () {
    this.timeout(60_000);
    const { flushes, seconds } = await flushesOf(24, 100); // 2.4 s of completions
    assert.ok(flushes >= 3 && flushes <= Math.floor(seconds) + 2, `${flushes} recordJob flushes for 24 items over ${seconds.toFixed(1)} s`);
  });

  it('also when each item takes longer than a flush (a loaded machine): no flush per item', async function () {
    this.timeout(60_000);
    // 10 items of 350 ms: each completion finds the previous flush long finished. The older rule (wait only while
    // completions piled up during a flush) flushed almost once per item here: 9 flushes over 4.0 s.
    const { flushes, seconds } = await flushesOf(10, 350);
    // ≥ 3: the reservation's, at least one while the items run (the mirror still follows a long job), the final one.
    const what = `${flushes} recordJob flushes for 10 items over ${seconds.toFixed(1)} s`;
    assert.ok(flushes >= 3 && flushes <= Math.floor(seconds) + 2, what);
  });

  it('a 500-item job stays far below the history limits', async function () {
    this.timeout(240_000);
    const { handle } = await createJob(h, { itemCount: 500, maxInFlight: 16 });
    await handle.executeUpdate(confirmUploadUpdate);
    await handle.executeUpdate(executeUpdate, { args: [EXECUTE] });
    const final = await handle.result();
    assert.equal(final.progress.done, 500);
    const history = await handle.fetchHistory();
    const events = history.events?.length ?? 0;
    const bytes = toHistoryJson(history).length;
    const flushes = history.events?.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'recordJob').length;
    console.log(`      500 items: ${events} events, ~${Math.round(bytes / 1024)} KiB, ${flushes} recordJob flushes`);
    assert.ok(events < 10_000, `${events} events (limit 51,200)`);
    assert.ok(bytes < 5 * 1024 * 1024, `${bytes} bytes (warning at 10 MiB, limit 50 MiB)`);
  });
});
