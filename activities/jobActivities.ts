/**
 * The job workflow's I/O: the credit ledger (reserve, settle), the DB mirror of the job (jobs_log, job_items_log) and
 * the seal of the upload tickets of a job that ended before its uploads were confirmed.
 * Thin: each activity translates its input into one service call or one transaction. All are idempotent, because
 * Temporal retries an activity whose result it did not record (worker crash, timeout) with the same input.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { DataSource, EntityManager, QueryDeepPartialEntity } from 'typeorm';
import type { JobRecord } from '../domain/jobMachine';
import type { ReserveResult } from '../domain/jobData';
import { JobSettledError, UnknownUserError, type Credits, type Settlement } from '../services/credits';
import { inTransaction } from '../services/transaction';
import type { Storage } from '../services/storage';
import { sealInputs, type SealRef } from '../services/uploadSeal';
import { JobItemLog } from '../entities/JobItemLog';
import { JobLog } from '../entities/JobLog';

/** Input of `reserveCredits`. */
export interface ReserveCreditsInput {
  jobId: string;
  userId: string;
  amount: number;
}

/** Input of `settleCredits`: `charge` is what the done items cost; the ledger releases the rest. */
export interface SettleCreditsInput {
  jobId: string;
  userId: string;
  charge: number;
}

/** What the job activities need. */
export interface JobActivityDeps {
  ds: DataSource;
  credits: Credits;
  storage: Storage;
}

// Rows per INSERT … ON CONFLICT statement: far below SQLite's bound-parameter limit (10 columns per row).
const ITEM_CHUNK = 200;

/** Builds the orchestration worker's activities around the ledger and the data source. */
export function createJobActivities({ ds, credits, storage }: JobActivityDeps) {
  return {
    /** Makes the store refuse the job's remaining upload tickets (services/uploadSeal.ts); returns the keys sealed. */
    sealUploads(job: SealRef): Promise<number> {
      return sealInputs(storage, job);
    },

    /** Holds the job's credits; the ledger makes a retry return the first outcome. */
    async reserveCredits({ jobId, userId, amount }: ReserveCreditsInput): Promise<ReserveResult> {
      try {
        return await credits.reserve(userId, jobId, amount);
      } catch (err) {
        throw nonRetryableUnknownUser(err);
      }
    },

    /** Charges the done items and releases the rest, exactly once per job (a retry reports what was recorded). */
    async settleCredits({ jobId, userId, charge }: SettleCreditsInput): Promise<Settlement> {
      try {
        return await credits.settle(userId, jobId, charge);
      } catch (err) {
        throw nonRetryableUnknownUser(err);
      }
    },

    /**
     * Mirrors the job row and the items changed since the last flush. Writes absolute values (status, counters), so
     * a retried flush writes the same thing again. The API inserts the row (at `POST /jobs`, before the workflow
     * starts); from then on this is its only writer. A row the API deleted — its create was refused or failed before
     * the reservation — is never brought back here.
     */
    async recordJob(record: JobRecord): Promise<void> {
      await inTransaction(ds, async (m) => {
        if (await writeJob(m, record)) await writeItems(m, record);
      });
    },
  };
}

/** The orchestration activities' type; the workflow types its proxy from it. */
export type JobActivities = ReturnType<typeof createJobActivities>;

/** Updates the job row; false when there is none (the API deleted it: the create was refused or failed). */
async function writeJob(m: EntityManager, { job, rule }: JobRecord): Promise<boolean> {
  const row: Partial<JobLog> = {
    status: job.status,
    creditsReserved: job.credits.reserved,
    creditsCharged: job.credits.charged,
    creditsRefunded: job.credits.refunded,
    errorCode: job.error?.code ?? null,
    errorMessage: job.error?.message.slice(0, 500) ?? null,
    updatedAt: new Date(job.updatedAt),
    finishedAt: job.finishedAt ? new Date(job.finishedAt) : null,
    // Makes the row a job for the API; never written back to null (a record of older code may lack the field).
    ...(job.reservedAt ? { reservedAt: new Date(job.reservedAt) } : {}),
    ...(rule ? { concepts: rule.concepts, protect: rule.protect, params: rule.params } : {}),
  };
  const res = await m.update(JobLog, { id: job.jobId }, row);
  return (res.affected ?? 0) > 0;
}

async function writeItems(m: EntityManager, { job, items }: JobRecord): Promise<void> {
  const rows: QueryDeepPartialEntity<JobItemLog>[] = items.map((i) => ({
    jobId: job.jobId,
    idx: i.idx,
    status: i.status,
    errorCode: i.error?.code ?? null,
    errorMessage: i.error?.message.slice(0, 500) ?? null,
    resultKey: i.resultKey ?? null,
    previewKey: i.previewKey ?? null,
    masks: i.masks ?? null,
    checks: (i.checks ?? null) as QueryDeepPartialEntity<JobItemLog>['checks'],
    updatedAt: new Date(job.updatedAt),
  }));
  for (let i = 0; i < rows.length; i += ITEM_CHUNK) {
    await m.upsert(JobItemLog, rows.slice(i, i + ITEM_CHUNK), { conflictPaths: ['jobId', 'idx'], skipUpdateIfNoValuesChanged: false });
  }
}

// A job of a deleted (or never created) user cannot succeed by retrying: fail the activity for good.
function nonRetryableUnknownUser(err: unknown): unknown {
  if (err instanceof UnknownUserError) return ApplicationFailure.nonRetryable(err.message, 'UNKNOWN_USER');
  // A reservation that reached the ledger after the job settled (the workflow stopped waiting for it).
  if (err instanceof JobSettledError) return ApplicationFailure.nonRetryable(err.message, 'JOB_SETTLED');
  return err;
}
