import assert from 'node:assert/strict';
import { v7 as uuidv7 } from 'uuid';
import { JobLog } from '../../entities/JobLog';
import { User } from '../../entities/User';
import { describeEachDatabase } from '../support/databases';

function jobRow(userId: string, id: string, key: string | null): Partial<JobLog> {
  const now = new Date();
  return {
    id,
    userId,
    presetId: 'interior',
    status: 'created',
    itemCount: 1,
    contentType: 'image/png',
    idempotencyKey: key,
    requestHash: null,
    creditsReserved: 1,
    createdAt: now,
    updatedAt: now,
  };
}

describeEachDatabase('collation: ids and idempotency keys compare byte-for-byte', (db) => {
  it('keeps Idempotency-Keys that differ only in case apart (unique index and look-up)', async () => {
    const jobs = db().ds.getRepository(JobLog);
    const userId = uuidv7();
    await jobs.insert(jobRow(userId, uuidv7(), 'idem-x'));
    await jobs.insert(jobRow(userId, uuidv7(), 'IDEM-X')); // a case-folding unique index refuses this one
    assert.equal((await jobs.findOneByOrFail({ userId, idempotencyKey: 'IDEM-X' })).idempotencyKey, 'IDEM-X');
    assert.equal(await jobs.countBy({ userId, idempotencyKey: 'Idem-X' }), 0);
  });

  it('does not find a job or a user by an id in another case', async () => {
    const id = uuidv7();
    await db()
      .ds.getRepository(JobLog)
      .insert(jobRow(uuidv7(), id, null));
    assert.ok(/[a-f]/.test(id), 'the id has letters to fold');
    assert.equal(await db().ds.getRepository(JobLog).countBy({ id: id.toUpperCase() }), 0);
    const userId = uuidv7();
    await db().ds.getRepository(User).insert({ id: userId, plan: 'free', balance: 0, reserved: 0, activeJobs: 0, createdAt: new Date() });
    assert.equal(await db().ds.getRepository(User).countBy({ id: userId.toUpperCase() }), 0);
  });
});
