import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { v7 as uuidv7 } from 'uuid';
import { createCredits } from '../../services/credits';
import { createStorage } from '../../services/storage';
import { parseConfig } from '../../domain/config';
import { createJobActivities, type JobActivities } from '../../activities/jobActivities';
import { JobMachine } from '../../domain/jobMachine';
import { JobItemLog } from '../../entities/JobItemLog';
import { JobLog } from '../../entities/JobLog';
import { describeEachDatabase } from '../support/databases';

const params = { operations: [{ concept: 'wall', op: 'recolor' as const, color: '#A3B18A', strength: 1 }], feather_px: 0 };
const result = (idx: number) => ({
  resultKey: `outputs/u/j/${idx}_result.png`,
  previewKey: `previews/u/j/${idx}_thumb.jpg`,
  masks: { wall: `masks/u/j/${idx}_wall.png` },
  checks: { protected_changed_px: 0, delta_e_to_target: { wall: 1.2 }, coverage: { wall: 0.3 } },
});

describeEachDatabase('job activities', (db) => {
  let acts: JobActivities;
  before(() => {
    acts = createJobActivities({ ds: db().ds, credits: createCredits(db().ds), storage: createStorage(parseConfig(process.env)) });
  });

  function machine(itemCount: number) {
    const m = new JobMachine(
      { jobId: uuidv7(), userId: uuidv7(), presetId: 'interior', itemCount, unitCost: 1, contentType: 'image/png' },
      () => new Date(),
    );
    m.reserved({ ok: true, amount: itemCount });
    return m;
  }

  /** The row POST /jobs inserts before the workflow starts. */
  async function insertApiRow(m: JobMachine) {
    const now = new Date();
    await db().ds.getRepository(JobLog).insert({
      id: m.input.jobId,
      userId: m.input.userId,
      presetId: 'interior',
      status: 'created',
      itemCount: m.input.itemCount,
      contentType: 'image/png',
      idempotencyKey: 'k1',
      requestHash: 'h',
      createdAt: now,
      updatedAt: now,
    });
  }

  it('recordJob never creates the job row: a job the API deleted (refused or failed create) stays gone', async () => {
    const m = machine(2);
    await acts.recordJob(m.takeRecord());
    m.confirmUpload();
    await acts.recordJob(m.takeRecord());
    assert.equal(await db().ds.getRepository(JobLog).countBy({ id: m.input.jobId }), 0);
    assert.equal(await db().ds.getRepository(JobItemLog).countBy({ jobId: m.input.jobId }), 0);
  });

  it('recordJob updates the API row and upserts changed items, idempotently', async () => {
    const m = machine(3);
    await insertApiRow(m);
    m.confirmUpload();
    m.execute({ concepts: [{ id: 'wall', prompt: 'wall' }], protect: [{ id: 'person', prompt: 'person' }], params });
    m.itemStarted(0);
    m.itemStarted(1);
    m.itemDone(0, result(0));
    const first = m.takeRecord();
    await acts.recordJob(first);
    await acts.recordJob(first); // a retried flush: the item upsert hits its primary key
    m.itemFailed(1, { code: 'INVALID_IMAGE', message: 'bad' });
    m.settle({ charged: 1, released: 2 });
    await acts.recordJob(m.takeRecord());
    const row = await db().ds.getRepository(JobLog).findOneByOrFail({ id: m.input.jobId });
    assert.equal(row.idempotencyKey, 'k1', 'API columns are kept');
    assert.ok(row.reservedAt, 'the mirror makes the row a job');
    assert.equal(row.creditsReserved, 3);
    assert.deepEqual([row.status, row.creditsCharged, row.creditsRefunded], ['done', 1, 2]);
    assert.deepEqual(row.concepts, ['wall']);
    assert.deepEqual(row.params, params);
    assert.ok(row.finishedAt);
    const items = await db()
      .ds.getRepository(JobItemLog)
      .find({ where: { jobId: m.input.jobId }, order: { idx: 'ASC' } });
    assert.deepEqual(
      items.map((i) => [i.idx, i.status, i.errorCode]),
      [
        [0, 'done', null],
        [1, 'failed', 'INVALID_IMAGE'],
        [2, 'canceled', null],
      ],
    );
    assert.equal(items[0].resultKey, 'outputs/u/j/0_result.png');
    assert.deepEqual(items[0].checks, result(0).checks);
  });

  it('recordJob writes 500 items in one flush', async () => {
    const m = machine(500);
    await insertApiRow(m);
    m.confirmUpload();
    m.execute({ concepts: [{ id: 'wall', prompt: 'wall' }], protect: [], params });
    for (let i = 0; i < 500; i++) {
      m.itemStarted(i);
      m.itemDone(i, result(i));
    }
    await acts.recordJob(m.takeRecord());
    assert.equal(await db().ds.getRepository(JobItemLog).countBy({ jobId: m.input.jobId, status: 'done' }), 500);
  });

  it('reserveCredits for an unknown user fails for good (UNKNOWN_USER), not retried', async () => {
    await assert.rejects(acts.reserveCredits({ jobId: uuidv7(), userId: uuidv7(), amount: 1 }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'UNKNOWN_USER');
      assert.equal(err.nonRetryable, true);
      return true;
    });
  });
});
