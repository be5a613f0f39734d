/**
 * `createJob` driven step by step with a scripted workflow side (what Update-with-Start answers) on an embedded SQLite
 * database; the end-to-end tests run the same module against Temporal and the real ledger.
 */
import assert from 'node:assert/strict';
import type { DataSource } from 'typeorm';
import { ApiError } from '../../api/errors';
import { createJobCreator, type CreateJobRequest } from '../../api/jobCreate';
import type { StartOutcome } from '../../api/jobWorkflows';
import { parseConfig } from '../../domain/config';
import { JobLog } from '../../entities/JobLog';
import { createCredits } from '../../services/credits';
import type { JobInput } from '../../workflows/contract';
import { createTestDatabase } from '../support/databases';

/** One scripted answer of `start`: an outcome, or an error thrown (an unknown outcome). */
type Step = StartOutcome | Error;

describe('api/jobCreate createJob', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  let userId: string;
  let script: Step[];
  let started: JobInput[];
  let canceled: string[];

  before(async () => {
    db = await createTestDatabase('sqlite');
    ds = db.ds;
  });
  after(() => db.drop());
  beforeEach(async () => {
    userId = (await createCredits(ds).createUser('free')).id;
    script = [];
    started = [];
    canceled = [];
  });

  const createJob = () =>
    createJobCreator({
      ds,
      config: parseConfig({}),
      workflows: {
        async start(input) {
          started.push(input);
          const step = script.shift();
          if (!step) throw new Error('unscripted start');
          if (step instanceof Error) throw step;
          // A held reservation: the workflow's mirror records it before the update answers.
          if (step.kind === 'answered' && step.result.ok)
            await ds.getRepository(JobLog).update({ id: input.jobId }, { reservedAt: new Date() });
          return step;
        },
        async cancelQuietly(jobId) {
          canceled.push(jobId);
        },
      },
    });
  const request = (idempotencyKey: string | null = null): CreateJobRequest => ({
    presetId: 'interior',
    itemCount: 3,
    contentType: 'image/png',
    sizes: [1024, 1024, 1024],
    idempotencyKey,
  });
  const held: StartOutcome = { kind: 'answered', result: { ok: true, amount: 3 } };
  const rows = () => ds.getRepository(JobLog).findBy({ userId });
  const rejectsWith = (p: Promise<unknown>, code: string) =>
    assert.rejects(p, (err: unknown) => err instanceof ApiError && err.code === code);

  it('creates: inserts the row, starts the workflow with the plan and config, answers 201', async () => {
    script = [held];
    const { job, status } = await createJob()(userId, request());
    assert.equal(status, 201);
    assert.equal(started.length, 1);
    assert.deepEqual(
      [started[0].jobId, started[0].userId, started[0].itemCount, started[0].unitCost, started[0].contentType],
      [job.id, userId, 3, 1, 'image/png'],
    );
    assert.equal((await rows()).length, 1);
  });

  it('replays a key whose job exists (200, no second start) and refuses the key with another body', async () => {
    script = [held];
    const first = await createJob()(userId, request('k'));
    const again = await createJob()(userId, request('k'));
    assert.deepEqual([again.status, again.job.id], [200, first.job.id]);
    assert.equal(started.length, 1);
    await rejectsWith(createJob()(userId, { ...request('k'), itemCount: 4 }), 'IDEMPOTENCY_KEY_REUSED');
  });

  it('drops a refused create (402 with the domain message) and leaves no row', async () => {
    script = [{ kind: 'answered', result: { ok: false, code: 'INSUFFICIENT_CREDITS', needed: 3, available: 1 } }];
    await assert.rejects(createJob()(userId, request('k')), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.deepEqual([err.status, err.message, err.details], [402, 'the job needs 3 credits, 1 available', { needed: 3, available: 1 }]);
      return true;
    });
    assert.deepEqual(await rows(), []);
  });

  it('frees the key when the workflow could not reserve (ledger outage): the retry is a fresh attempt', async () => {
    const outage = new ApiError('UNAVAILABLE', 'the credit ledger is unavailable, try again shortly');
    script = [{ kind: 'failed', error: outage }, held];
    await rejectsWith(createJob()(userId, request('k')), 'UNAVAILABLE');
    assert.deepEqual(await rows(), []);
    const retried = await createJob()(userId, request('k'));
    assert.equal(retried.status, 201);
    assert.notEqual(retried.job.id, started[0].jobId, 'a new job id');
  });

  it('keeps the row of an unknown outcome with a key, and the retry re-drives the same job', async () => {
    script = [new ApiError('UNAVAILABLE', 'the workflow service is unavailable'), held];
    await rejectsWith(createJob()(userId, request('k')), 'UNAVAILABLE');
    assert.equal((await rows()).length, 1);
    const retried = await createJob()(userId, request('k'));
    assert.deepEqual([retried.status, retried.job.id], [200, started[0].jobId]);
    assert.deepEqual(canceled, []);
  });

  it('without a key, stops the workflow of an unknown outcome and drops the row', async () => {
    script = [new ApiError('UNAVAILABLE', 'the workflow service is unavailable')];
    await rejectsWith(createJob()(userId, request()), 'UNAVAILABLE');
    assert.deepEqual(canceled, [started[0].jobId]);
    assert.deepEqual(await rows(), []);
  });

  it("starts afresh when the key's workflow already ended without a reservation", async () => {
    script = [new ApiError('UNAVAILABLE', 'down'), { kind: 'ended' }, held];
    await rejectsWith(createJob()(userId, request('k')), 'UNAVAILABLE');
    const retried = await createJob()(userId, request('k'));
    assert.equal(retried.status, 201);
    assert.equal(started.length, 3);
    assert.equal(started[1].jobId, started[0].jobId, 're-driven first');
    assert.notEqual(started[2].jobId, started[0].jobId, 'then a new job');
    assert.deepEqual(
      (await rows()).map((r) => r.id),
      [retried.job.id],
    );
  });

  it('checks the preset, the user and the plan before anything is written', async () => {
    await rejectsWith(createJob()(userId, { ...request(), presetId: 'garden' }), 'NOT_FOUND');
    await rejectsWith(createJob()('no-such-user', request()), 'UNAUTHORIZED');
    await rejectsWith(createJob()(userId, { ...request(), itemCount: 51 }), 'VALIDATION_ERROR');
    assert.deepEqual([started.length, (await rows()).length], [0, 0]);
  });
});
