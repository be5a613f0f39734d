import assert from 'node:assert/strict';
import { parseConfig } from '../../domain/config';
import { JobItemLog } from '../../entities/JobItemLog';
import { JobLog } from '../../entities/JobLog';
import { jobSummary, jobView, pageStateFromLog, stateFromLog, summaryFromLog } from '../../api/jobViews';
import { createStorage } from '../../services/storage';

const T0 = new Date('2026-11-29T10:00:00.000Z');
const T1 = new Date('2026-11-29T10:05:00.000Z');

function logRow(patch: Partial<JobLog> = {}): JobLog {
  return Object.assign(new JobLog(), {
    id: 'job-1',
    userId: 'user-1',
    presetId: 'interior',
    status: 'running',
    itemCount: 4,
    contentType: 'image/png',
    idempotencyKey: null,
    requestHash: null,
    concepts: ['wall'],
    protect: [],
    params: null,
    reservedAt: T0,
    creditsReserved: 4,
    creditsCharged: 1,
    creditsRefunded: 0,
    errorCode: null,
    errorMessage: null,
    createdAt: T0,
    updatedAt: T1,
    finishedAt: null,
    ...patch,
  });
}

function itemRow(idx: number, patch: Partial<JobItemLog>): JobItemLog {
  return Object.assign(new JobItemLog(), {
    jobId: 'job-1',
    idx,
    status: 'done',
    errorCode: null,
    errorMessage: null,
    resultKey: null,
    previewKey: null,
    masks: null,
    checks: null,
    updatedAt: T1,
    ...patch,
  });
}

const checks = { protected_changed_px: 0, delta_e_to_target: { wall: 1.5 }, coverage: { wall: 0.4 } };

describe('api/jobViews', () => {
  describe('stateFromLog', () => {
    it('rebuilds items from the mirror: flushed ones as stored, the rest pending while the job runs', () => {
      const state = stateFromLog(logRow(), [
        itemRow(2, { status: 'failed', errorCode: 'INVALID_IMAGE', errorMessage: 'not an image' }),
        itemRow(0, { resultKey: 'outputs/r0.png', previewKey: 'previews/p0.jpg', masks: { wall: 'masks/m0.png' }, checks }),
      ]);
      assert.deepEqual(state.items, [
        { idx: 0, status: 'done', resultKey: 'outputs/r0.png', previewKey: 'previews/p0.jpg', masks: { wall: 'masks/m0.png' }, checks },
        { idx: 1, status: 'pending' },
        { idx: 2, status: 'failed', error: { code: 'INVALID_IMAGE', message: 'not an image' } },
        { idx: 3, status: 'pending' },
      ]);
      assert.deepEqual(state.progress, { total: 4, done: 1, failed: 1, running: 0, pending: 2, canceled: 0, percent: 50 });
      assert.deepEqual(state.credits, { reserved: 4, charged: 1, refunded: 0 });
      assert.equal(state.error, null);
      assert.deepEqual([state.createdAt, state.updatedAt, state.finishedAt], [T0.toISOString(), T1.toISOString(), null]);
    });

    it('shows unflushed items of an ended job as canceled, and the job error', () => {
      for (const status of ['canceled', 'failed'] as const) {
        const state = stateFromLog(logRow({ status, errorCode: 'UPLOAD_TIMEOUT', errorMessage: 'late', finishedAt: T1 }), []);
        assert.deepEqual(
          state.items.map((i) => i.status),
          ['canceled', 'canceled', 'canceled', 'canceled'],
        );
        assert.deepEqual(state.error, { code: 'UPLOAD_TIMEOUT', message: 'late' });
        assert.equal(state.finishedAt, T1.toISOString());
      }
    });
  });

  describe('summaryFromLog', () => {
    it('counts unflushed items as pending while the job runs', () => {
      const s = summaryFromLog(logRow(), { done: 1, failed: 1 });
      assert.deepEqual(s.progress, { total: 4, done: 1, failed: 1, running: 0, pending: 2, canceled: 0, percent: 50 });
      assert.equal(s.id, 'job-1');
      assert.equal(s.status, 'running');
      assert.equal('items' in s, false);
    });

    it('counts unflushed items as canceled once the job ended without them', () => {
      const s = summaryFromLog(logRow({ status: 'canceled' }), { done: 1, canceled: 1 });
      assert.deepEqual(s.progress, { total: 4, done: 1, failed: 0, running: 0, pending: 0, canceled: 3, percent: 25 });
    });

    it('matches the view rebuilt from the same rows', () => {
      const rows = [itemRow(0, {}), itemRow(3, { status: 'failed', errorCode: 'X' })];
      const fromRows = jobSummary(stateFromLog(logRow(), rows));
      assert.deepEqual(summaryFromLog(logRow(), { done: 1, failed: 1 }), fromRows);
    });
  });

  describe('pageStateFromLog', () => {
    it('lists the page as the whole state does, with the progress of every item from the counts', () => {
      const rows = [
        itemRow(0, { resultKey: 'outputs/r0.png', checks }),
        itemRow(2, { status: 'failed', errorCode: 'INVALID_IMAGE', errorMessage: 'bad' }),
        itemRow(5, {}),
      ];
      for (const status of ['running', 'done', 'canceled'] as const) {
        const job = logRow({ itemCount: 7, status });
        const whole = stateFromLog(job, rows);
        for (const page of [
          { offset: 0, limit: 3 },
          { offset: 2, limit: 4 },
          { offset: 6, limit: 100 },
          { offset: 9, limit: 5 },
        ]) {
          const paged = pageStateFromLog(job, { done: 2, failed: 1 }, rows, page);
          assert.deepEqual(
            paged,
            { ...whole, items: whole.items.slice(page.offset, page.offset + page.limit) },
            `${status} ${JSON.stringify(page)}`,
          );
        }
      }
    });
  });

  describe('jobView', () => {
    it('presigns every stored object of every item, and nothing for what is not there', async () => {
      const storage = createStorage(parseConfig({}));
      try {
        const state = stateFromLog(logRow({ itemCount: 2 }), [
          itemRow(0, { resultKey: 'outputs/user-1/job-1/0_result.png', masks: { wall: 'masks/user-1/job-1/0_wall.png' }, checks }),
        ]);
        const view = await jobView(state, 'image/png', storage, 60);
        assert.equal(view.id, 'job-1');
        assert.equal(view.items.length, 2);
        const [done, pending] = view.items;
        assert.match(done.input_url!, /\/inputs\/user-1\/job-1\/0\.png\?.*X-Amz-Expires=60/);
        assert.match(done.result_url!, /\/outputs\/user-1\/job-1\/0_result\.png\?/);
        assert.equal(done.preview_url, null);
        assert.match(done.masks.wall, /\/masks\/user-1\/job-1\/0_wall\.png\?/);
        assert.deepEqual(done.checks, checks);
        assert.match(pending.input_url!, /\/inputs\/user-1\/job-1\/1\.png\?/);
        assert.deepEqual(
          [pending.status, pending.result_url, pending.masks, pending.checks, pending.error],
          ['pending', null, {}, null, null],
        );
      } finally {
        storage.destroy();
      }
    });
  });
});
