import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { RunpodFailure, settlementOf } from '../../services/runpodJobs';
import { openWebhookToken, readTaskToken, webhookPath } from '../../services/taskTokens';

const failureOf = (s: ReturnType<typeof settlementOf>): ApplicationFailure => {
  assert.equal(s.kind, 'fail');
  return (s as { failure: ApplicationFailure }).failure;
};

describe('Runpod job reports → settlement of the segment activity', () => {
  const result = { width: 4, height: 3, masks: { wall: 'masks/u/j/0/wall.png' }, coverage: { wall: 0.5 } };

  it('completes with the handler output when it is a segment result, else fails retryably', () => {
    assert.deepEqual(settlementOf({ id: 'r1', status: 'COMPLETED', output: result }), { kind: 'complete', result });
    const bad = failureOf(settlementOf({ id: 'r1', status: 'COMPLETED', output: { masks: 'no' } }));
    assert.equal(bad.type, RunpodFailure.BAD_OUTPUT);
    assert.equal(bad.nonRetryable, false);
  });

  it("keeps the engine's non-retryable item failures non-retryable, everything else on Runpod's side retryable", () => {
    const image = failureOf(
      settlementOf({
        id: 'r2',
        status: 'FAILED',
        error: JSON.stringify({ type: 'INVALID_IMAGE', message: 'corrupt', nonRetryable: true }),
      }),
    );
    assert.deepEqual([image.type, image.message, image.nonRetryable], ['INVALID_IMAGE', 'corrupt', true]);
    const storage = failureOf(
      settlementOf({ id: 'r3', status: 'FAILED', error: JSON.stringify({ type: 'Error', message: 'ECONNREFUSED', nonRetryable: false }) }),
    );
    assert.deepEqual([storage.type, storage.nonRetryable], [RunpodFailure.FAILED, false]);
    assert.match(storage.message, /r3 failed: Error: ECONNREFUSED/);
    const crash = failureOf(settlementOf({ id: 'r4', status: 'FAILED', error: 'worker exited' }));
    assert.deepEqual([crash.type, crash.nonRetryable], [RunpodFailure.FAILED, false]);
    const timeout = failureOf(settlementOf({ id: 'r5', status: 'TIMED_OUT' }));
    assert.deepEqual([timeout.type, timeout.nonRetryable], [RunpodFailure.TIMED_OUT, false]);
  });

  it('waits while the job is queued or running, and on CANCELLED (the dispatcher knows whether it asked)', () => {
    for (const status of ['IN_QUEUE', 'IN_PROGRESS', 'CANCELLED']) assert.deepEqual(settlementOf({ id: 'r6', status }), { kind: 'wait' });
  });
});

describe('webhook URL tokens', () => {
  const secret = 'a-secret-of-sixteen-chars';
  const taskToken = Buffer.from('opaque task token bytes');

  it('opens only for the job, item and secret it was minted for', () => {
    const path = webhookPath(secret, 'runpod', 'job-1', 3, taskToken);
    const segment = path.split('/').at(-1)!;
    assert.match(path, /^\/providers\/runpod\/job-1\/3\/[\w-]+\.[\w-]{43}$/);
    assert.deepEqual(openWebhookToken(secret, 'runpod', 'job-1', 3, segment), taskToken);
    assert.equal(openWebhookToken(secret, 'runpod', 'job-2', 3, segment), undefined);
    assert.equal(openWebhookToken(secret, 'runpod', 'job-1', 4, segment), undefined);
    assert.equal(openWebhookToken('another-secret-0123', 'runpod', 'job-1', 3, segment), undefined);
    assert.equal(openWebhookToken(secret, 'runpod', 'job-1', 3, segment.slice(0, -1)), undefined);
    assert.equal(openWebhookToken(secret, 'runpod', 'job-1', 3, 'no-dot'), undefined);
  });

  it('reads no task token from bytes that are not one', () => {
    assert.equal(readTaskToken(Buffer.from('garbage')), undefined);
    assert.equal(readTaskToken(Buffer.alloc(0)), undefined);
  });
});
