import assert from 'node:assert/strict';
import { InvalidStateError, JobMachine, type ItemResult } from '../../domain/jobMachine';
import type { RuleParams } from '../../domain/ruleParams';

const params: RuleParams = { operations: [{ concept: 'wall', op: 'recolor', color: '#A3B18A', strength: 1 }], feather_px: 0 };
const rule = { concepts: [{ id: 'wall', prompt: 'wall' }], protect: [{ id: 'person', prompt: 'person' }], params };
const result = (idx: number): ItemResult => ({
  resultKey: `out/${idx}.png`,
  previewKey: `prev/${idx}.jpg`,
  masks: { wall: `m/${idx}_wall.png` },
  checks: { protected_changed_px: 0, delta_e_to_target: { wall: 1 }, coverage: { wall: 0.4 } },
});

/** A machine on a fake clock that advances one second per reading. */
function machine(itemCount = 4, unitCost = 2) {
  let t = Date.parse('2025-01-01T00:00:00Z');
  const m = new JobMachine(
    { jobId: 'j1', userId: 'u1', presetId: 'interior', itemCount, unitCost, contentType: 'image/jpeg' },
    () => new Date((t += 1000)),
  );
  return m;
}

/** A machine reserved, uploaded and executed. */
function queued(itemCount = 4, unitCost = 2) {
  const m = machine(itemCount, unitCost);
  m.reserved({ ok: true, amount: itemCount * unitCost });
  m.confirmUpload();
  m.execute(rule);
  return m;
}

describe('JobMachine', () => {
  it('walks created -> uploaded -> queued -> running -> done and charges done items', () => {
    const m = machine();
    assert.equal(m.amount, 8);
    assert.equal(m.canConfirmUpload(), false, 'not before the reservation');
    m.reserved({ ok: true, amount: 8 });
    m.confirmUpload();
    const version = m.version;
    m.confirmUpload(); // idempotent
    assert.equal(m.version, version, 'a repeat changes nothing (the workflow skips its flush)');
    assert.equal(m.status, 'uploaded');
    assert.equal(m.canExecute(), true);
    m.execute(rule);
    assert.equal(m.status, 'queued');
    assert.equal(m.canExecute(), false, 'execute only once');
    m.itemStarted(0);
    assert.equal(m.status, 'running');
    for (let i = 0; i < 4; i++) {
      if (i > 0) m.itemStarted(i);
      m.itemDone(i, result(i));
    }
    assert.equal(m.charge(), 8);
    assert.deepEqual(m.state().credits, { reserved: 8, charged: 8, refunded: 0 }, 'projected charge before settling');
    m.settle({ charged: 8, released: 0 });
    const s = m.state();
    assert.equal(s.status, 'done');
    assert.equal(s.finishedAt, s.updatedAt);
    assert.deepEqual(s.progress, { total: 4, done: 4, failed: 0, running: 0, pending: 0, canceled: 0, percent: 100 });
    assert.equal(m.finished, true);
  });

  it('a job with some failed items is done; failed items are not charged', () => {
    const m = queued(3, 1);
    m.itemStarted(0);
    m.itemDone(0, result(0));
    m.itemStarted(1);
    m.itemFailed(1, { code: 'INVALID_IMAGE', message: 'bad' });
    m.itemStarted(2);
    assert.deepEqual(m.progress(), { total: 3, done: 1, failed: 1, running: 1, pending: 0, canceled: 0, percent: 66.7 });
    m.itemDone(2, result(2));
    assert.equal(m.charge(), 2);
    m.settle({ charged: 2, released: 1 });
    assert.equal(m.status, 'done');
    assert.deepEqual(m.state().credits, { reserved: 3, charged: 2, refunded: 1 });
    assert.deepEqual(m.items[1].error, { code: 'INVALID_IMAGE', message: 'bad' });
  });

  it('a job whose items all failed is failed', () => {
    const m = queued(2, 1);
    for (const i of [0, 1]) {
      m.itemStarted(i);
      m.itemFailed(i, { code: 'PROCESSING_FAILED', message: 'x' });
    }
    m.settle({ charged: 0, released: 2 });
    assert.equal(m.status, 'failed');
    assert.equal(m.error?.code, 'ALL_ITEMS_FAILED');
  });

  it('cancel mid-run: pending and running items end canceled, done ones stay charged', () => {
    const m = queued(4, 1);
    m.itemStarted(0);
    m.itemDone(0, result(0));
    m.itemStarted(1);
    assert.equal(m.requestCancel(), true);
    assert.equal(m.requestCancel(), false, 'a second cancel is accepted and changes nothing');
    assert.equal(m.status, 'running', 'canceled only once settled');
    m.itemCanceled(1);
    m.settle({ charged: 1, released: 3 });
    assert.equal(m.status, 'canceled');
    assert.deepEqual(
      m.items.map((i) => i.status),
      ['done', 'canceled', 'canceled', 'canceled'],
    );
    assert.equal(m.canCancel(), true, 'canceling a canceled job is fine');
    assert.equal(m.requestCancel(), false);
  });

  it('a cancel that arrives after every item was processed leaves the job done', () => {
    const m = queued(1, 1);
    m.itemStarted(0);
    m.itemDone(0, result(0));
    m.requestCancel();
    m.settle({ charged: 1, released: 0 });
    assert.equal(m.status, 'done');
    assert.equal(m.canCancel(), false);
    assert.throws(() => m.requestCancel(), InvalidStateError);
  });

  it('cancel before the upload cancels every item and refunds all', () => {
    const m = machine(3, 1);
    m.reserved({ ok: true, amount: 3 });
    m.requestCancel();
    assert.equal(m.canConfirmUpload(), false);
    m.settle({ charged: 0, released: 3 });
    assert.equal(m.status, 'canceled');
    assert.equal(m.progress().canceled, 3);
    assert.deepEqual(m.state().credits, { reserved: 3, charged: 0, refunded: 3 });
  });

  it('a timeout fails the job with its code when it settles', () => {
    const m = machine(2, 1);
    m.reserved({ ok: true, amount: 2 });
    m.fail({ code: 'UPLOAD_TIMEOUT', message: 'late' });
    m.settle({ charged: 0, released: 2 });
    assert.equal(m.status, 'failed');
    assert.equal(m.error?.code, 'UPLOAD_TIMEOUT');
    assert.equal(m.canConfirmUpload(), false);
    assert.equal(m.canCancel(), false);
  });

  it('a refused reservation ends the job failed with the refusal, nothing held', () => {
    const m = machine(2, 1);
    m.reserved({ ok: false, code: 'INSUFFICIENT_CREDITS', needed: 2, available: 1 });
    assert.equal(m.status, 'failed');
    assert.equal(m.error?.code, 'INSUFFICIENT_CREDITS');
    assert.equal(m.held, false);
    assert.equal(m.finished, true);
    assert.deepEqual(m.state().credits, { reserved: 0, charged: 0, refunded: 0 });
  });

  it('rejects wrong-state operations', () => {
    const m = machine();
    assert.equal(m.canExecute(), false);
    assert.throws(() => m.execute(rule), InvalidStateError);
    assert.throws(() => m.confirmUpload(), InvalidStateError);
    const q = queued();
    q.itemStarted(0);
    q.itemDone(0, result(0));
    assert.throws(() => q.itemFailed(0, { code: 'X', message: 'x' }), InvalidStateError, 'a finished item stays finished');
    assert.throws(() => q.itemStarted(99), InvalidStateError);
  });

  it('takeRecord carries the job row, the items finished since the last call, and the rule once', () => {
    const m = queued(5, 1);
    const first = m.takeRecord();
    assert.equal(first.job.status, 'queued');
    assert.equal(first.job.contentType, 'image/jpeg');
    assert.deepEqual(first.rule, { concepts: ['wall'], protect: ['person'], params }, 'the mirror stores ids');
    assert.deepEqual(m.rule, rule, 'the machine keeps the whole execute input');
    assert.ok(first.job.reservedAt, 'the record says when the credits were held');
    assert.deepEqual(first.items, []);
    m.itemStarted(3);
    m.itemStarted(1);
    m.itemStarted(0);
    assert.equal(m.hasChanges(), false, 'running items are not mirrored');
    m.itemDone(3, result(3));
    m.itemFailed(0, { code: 'INVALID_IMAGE', message: 'bad' });
    assert.equal(m.hasChanges(), true);
    const second = m.takeRecord();
    assert.deepEqual(
      second.items.map((i) => [i.idx, i.status]),
      [
        [0, 'failed'],
        [3, 'done'],
      ],
    );
    assert.equal(second.rule, undefined);
    assert.equal(second.job.status, 'running');
    assert.equal(m.hasChanges(), false);
    assert.deepEqual(m.takeRecord().items, []);
  });

  it('state() is a copy: mutating it does not touch the machine', () => {
    const m = queued(1, 1);
    const s = m.state();
    s.items[0].status = 'done';
    s.credits.reserved = 99;
    assert.equal(m.items[0].status, 'pending');
    assert.equal(m.state().credits.reserved, 1);
  });
});
