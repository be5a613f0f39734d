/** Reads jobs for the routes: ownership (another user's job is a 404) and the freshest state available. */
import { IsNull, Not, type DataSource, type FindOptionsWhere } from 'typeorm';
import { isTerminal } from '../domain/jobStates';
import { JobItemLog } from '../entities/JobItemLog';
import { JobLog } from '../entities/JobLog';
import type { JobState } from '../domain/jobData';
import { ApiError, notFound } from './errors';
import { WorkflowGoneError, type JobWorkflows } from './jobWorkflows';
import { stateFromLog } from './jobViews';

/**
 * The rows that are jobs: the workflow's mirror recorded their reservation. A row without one belongs to a create in
 * progress (or one that failed, which a retry with its Idempotency-Key replaces) and is nobody's job yet.
 */
export const IS_JOB: FindOptionsWhere<JobLog> = { reservedAt: Not(IsNull()) };

/** Job look-ups shared by the job, SSE and callback routes. */
export function createJobReader(ds: DataSource, workflows: JobWorkflows) {
  const jobs = ds.getRepository(JobLog);
  const itemRows = ds.getRepository(JobItemLog);
  return {
    /** The user's job, or 404 — also for a job of another user. */
    async ownJob(userId: string | undefined, id: string): Promise<JobLog> {
      const job = await jobs.findOneBy({ id, userId: userId ?? '', ...IS_JOB });
      if (!job) throw notFound(`job '${id}'`);
      return job;
    },
    /** The live state while the workflow runs; the DB mirror once it is terminal, gone, or Temporal is down. */
    async state(job: JobLog): Promise<JobState> {
      if (!isTerminal(job.status)) {
        try {
          return await workflows.state(job.id);
        } catch (err) {
          if (!(err instanceof WorkflowGoneError) && !(err instanceof ApiError && err.code === 'UNAVAILABLE')) throw err;
        }
      }
      return stateFromLog(job, await itemRows.findBy({ jobId: job.id }));
    },
    /** Re-reads the mirror row (its status moves as the workflow flushes). */
    reload(job: JobLog): Promise<JobLog> {
      return jobs.findOneByOrFail({ id: job.id });
    },
  };
}

/** The job reader's type. */
export type JobReader = ReturnType<typeof createJobReader>;
