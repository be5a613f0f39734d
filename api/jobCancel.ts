/** Cancelling a job, idempotent under races: every caller of a job that ends canceled gets the canceled job. */
import { isTerminal } from '../domain/jobStates';
import type { JobState } from '../domain/jobData';
import type { JobLog } from '../entities/JobLog';
import { ApiError } from './errors';
import type { JobReader } from './jobReader';
import { WorkflowGoneError, type JobWorkflows } from './jobWorkflows';

/**
 * Cancels `job` and returns its state. Concurrent cancels race the workflow's end: a late one finds it completed
 * (gone) or sees the cancel of another caller settle first; when the job then reads `canceled`, that is its answer.
 */
export async function cancelJob(reader: JobReader, workflows: JobWorkflows, job: JobLog): Promise<JobState> {
  if (job.status === 'canceled') return reader.state(job);
  if (isTerminal(job.status)) throw new ApiError('INVALID_STATE', `job is ${job.status}`);
  try {
    return await workflows.cancel(job.id);
  } catch (err) {
    const refused = err instanceof WorkflowGoneError || (err instanceof ApiError && err.code === 'INVALID_STATE');
    if (!refused) throw err;
    // The workflow flushes its final state to the mirror before it completes, so the mirror is settled by now.
    const state = await reader.state(await reader.reload(job));
    if (state.status === 'canceled') return state;
    throw err instanceof ApiError ? err : new ApiError('INVALID_STATE', `job is ${state.status}`);
  }
}
