import assert from 'node:assert/strict';
import { ServiceError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, WorkflowNotFoundError } from '@temporalio/common';
import { ApiError } from '../../api/errors';
import { mapTemporalError, WorkflowGoneError, withinDeadline } from '../../api/jobWorkflows';

/** An update the workflow rejected or failed with an ApplicationFailure of `type`. */
const updateFailed = (type: string, message = 'no') =>
  new WorkflowUpdateFailedError('update failed', ApplicationFailure.create({ type, message, nonRetryable: true }));
/** A gRPC error as the client surfaces it (code, details, metadata). */
const grpc = (code: number) => Object.assign(new Error(`${code} grpc`), { code, details: 'x', metadata: {} });

function apiError(err: Error): ApiError {
  assert.ok(err instanceof ApiError, `${err.name}: ${err.message}`);
  return err;
}

describe('api/jobWorkflows mapTemporalError', () => {
  it("maps the workflow's INVALID_STATE to 409 with its message", () => {
    const e = apiError(mapTemporalError(updateFailed('INVALID_STATE', 'cannot execute a created job')));
    assert.deepEqual([e.status, e.code, e.message], [409, 'INVALID_STATE', 'cannot execute a created job']);
  });

  it("keeps the reserve update's failures apart: outage 503, unknown user 401, settled job 409", () => {
    const cases: [string, number, string][] = [
      ['UNAVAILABLE', 503, 'UNAVAILABLE'],
      ['UNKNOWN_USER', 401, 'UNAUTHORIZED'],
      ['JOB_SETTLED', 409, 'INVALID_STATE'],
    ];
    for (const [type, status, code] of cases) {
      const e = apiError(mapTemporalError(updateFailed(type)));
      assert.deepEqual([e.status, e.code], [status, code], type);
    }
  });

  it('maps a gone workflow to WorkflowGoneError', () => {
    assert.ok(mapTemporalError(new WorkflowNotFoundError('gone', 'job-1', undefined)) instanceof WorkflowGoneError);
  });

  it('maps an unreachable or overloaded Temporal (gRPC UNAVAILABLE/DEADLINE_EXCEEDED/CANCELLED/RESOURCE_EXHAUSTED, directly or as the cause, an update call out of time, or no connection) to 503', () => {
    const unreachable = [
      grpc(14),
      grpc(4),
      new ServiceError('call failed', { cause: grpc(14) }),
      new Error('Failed to connect before the deadline'),
      new Error('connect ECONNREFUSED 127.0.0.1:7233'),
      // An update call that ran out of the API's deadline, however the SDK learned it; the server shedding load.
      new WorkflowUpdateRPCTimeoutOrCancelledError('Workflow update call timeout or cancelled', { cause: grpc(4) }),
      new WorkflowUpdateRPCTimeoutOrCancelledError('Workflow update call timeout or cancelled', {
        cause: new CancelledFailure('cancelled'),
      }),
      grpc(1),
      grpc(8),
    ];
    for (const err of unreachable) assert.equal(apiError(mapTemporalError(err)).code, 'UNAVAILABLE', err.message);
  });

  it('leaves anything else as it is (a bug stays a 500)', () => {
    for (const err of [
      grpc(3),
      updateFailed('SOMETHING_ELSE'),
      new WorkflowUpdateFailedError('x', new Error('plain')),
      new TypeError('t'),
    ]) {
      assert.equal(mapTemporalError(err), err);
    }
  });
});

describe('api/jobWorkflows withinDeadline', () => {
  // The client's own deadline handling is Temporal's; what is ours is answering once it has passed.
  const client = { withDeadline: <R>(_deadline: number, fn: () => Promise<R>) => fn() };

  it('answers UNAVAILABLE (with Retry-After) once the deadline has passed, whatever the SDK is still doing', async () => {
    const started = Date.now();
    const err = await withinDeadline(client, 150, () => new Promise(() => undefined)).catch((e: unknown) => e as Error);
    const waited = Date.now() - started;
    const e = apiError(err as Error);
    assert.deepEqual([e.status, e.code], [503, 'UNAVAILABLE']);
    assert.ok(Number(e.headers?.['Retry-After']) > 0, 'Retry-After');
    assert.ok(waited >= 150 && waited < 1000, `answered after ${waited} ms`);
  });

  it('passes a result or an error of the call through unchanged', async () => {
    assert.equal(await withinDeadline(client, 1000, async () => 42), 42);
    const boom = new Error('boom');
    await assert.rejects(
      withinDeadline(client, 1000, async () => Promise.reject(boom)),
      (e) => e === boom,
    );
  });
});
