import assert from 'node:assert/strict';
import { ServiceError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, WorkflowNotFoundError } from '@temporalio/common';
import { ApiError } from '../../api/errors';
import { mapTemporalError, WorkflowGoneError } from '../../api/jobWorkflows';

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
