/**
 * `POST /jobs` (API.md §9), in the order it happens: idempotency (the Idempotency-Key's row, or a new one) →
 * Update-with-Start of the job's workflow, which reserves the credits → the outcome. The API writes the row only
 * until the job exists: it inserts it, and deletes it again if the create ends without a reservation. Once the ledger
 * holds the credits, the workflow's DB mirror is the row's only writer (it sets `reserved_at`, which makes it a job).
 */
import { createHash } from 'node:crypto';
import { IsNull, type DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import type { Config } from '../domain/config';
import { refusalMessage, type ReserveRefusal } from '../domain/jobData';
import { planOf } from '../domain/plans';
import { findPreset } from '../domain/presets';
import type { UploadContentType } from '../domain/storageKeys';
import { JobLog } from '../entities/JobLog';
import { isDuplicateKey } from '../services/transaction';
import type { JobInput } from '../workflows/contract';
import { currentUser } from './currentUser';
import { ApiError, notFound } from './errors';
import type { JobWorkflows, StartOutcome } from './jobWorkflows';
import { validationError } from './validate';

/** A create request, validated by the route. */
export interface CreateJobRequest {
  presetId: string;
  itemCount: number;
  contentType: UploadContentType;
  /** Byte size of each input (the tickets are signed for them). */
  sizes: readonly number[];
  idempotencyKey: string | null;
}

/** The created (201) or replayed (200) job. */
export interface CreatedJob {
  job: JobLog;
  status: 200 | 201;
}

/** What creating a job needs. */
export interface JobCreateDeps {
  ds: DataSource;
  workflows: Pick<JobWorkflows, 'start' | 'cancelQuietly'>;
  config: Pick<Config, 'UPLOAD_TIMEOUT' | 'GPU_TASK_QUEUE' | 'CPU_TASK_QUEUE' | 'JOB_MAX_IN_FLIGHT'>;
}

/** Fresh attempts are bounded: only retries of one key racing each other can need more than two. */
const MAX_ATTEMPTS = 5;

/** The API error of a refused reservation (402 or 429), with the domain's one message for it. */
export function refusalError(r: ReserveRefusal): ApiError {
  const details = r.code === 'INSUFFICIENT_CREDITS' ? { needed: r.needed, available: r.available } : { limit: r.limit, active: r.active };
  return new ApiError(r.code, refusalMessage(r), details);
}

/** Builds `createJob(userId, request)`. */
export function createJobCreator({ ds, workflows, config }: JobCreateDeps) {
  const jobs = ds.getRepository(JobLog);

  /** Removes a row that never became a job (the create was refused or failed); a job's row is never touched. */
  const discard = (job: JobLog) => jobs.delete({ id: job.id, reservedAt: IsNull() });

  return async function createJob(userId: string | undefined, req: CreateJobRequest): Promise<CreatedJob> {
    const preset = findPreset(req.presetId);
    if (!preset) throw notFound(`preset '${req.presetId}'`);
    const user = await currentUser(ds, userId);
    const plan = planOf(user.plan);
    if (req.itemCount > plan.maxItemsPerJob) {
      throw validationError([{ path: ['item_count'], message: `at most ${plan.maxItemsPerJob} items per job on the ${plan.id} plan` }]);
    }
    const requestHash = createHash('sha256')
      .update(JSON.stringify([req.presetId, req.itemCount, req.contentType, req.sizes]))
      .digest('hex');
    const key = req.idempotencyKey;

    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // 1. Idempotency: the key's row when there is one, else a new row.
      const claim = await claimRow();
      const { job } = claim;
      if (job.reservedAt) return { job, status: 200 }; // the key's job exists: replay it

      // 2. Update-with-Start: start the workflow (or attach to the one a concurrent request with the key started) and
      // learn its reservation.
      let outcome: StartOutcome;
      try {
        outcome = await workflows.start(jobInput(job, plan.unitCost));
      } catch (err) {
        // Unknown whether the workflow started (Update-with-Start is atomic: if it did, it also took the reservation).
        // With an Idempotency-Key the row stays, and a retry with the key re-drives this same job; without one, stop
        // the workflow if it did start (its cancel releases the hold) and drop the row. The stop is not awaited: with
        // Temporal down it would hold the answer for another call deadline. A start that reaches Temporal only after
        // this signal holds its credits until UPLOAD_TIMEOUT releases them (rare; README "What is not here").
        if (!key) {
          void workflows.cancelQuietly(job.id);
          await discard(job);
        }
        throw err;
      }

      // 3. The outcome. Anything but a held reservation ends this job id for good: its row goes, so the key (if any)
      // allows a fresh attempt — after a ledger outage too.
      if (outcome.kind === 'answered' && outcome.result.ok) return { job, status: claim.inserted ? 201 : 200 };
      await discard(job);
      if (outcome.kind === 'answered' && !outcome.result.ok) throw refusalError(outcome.result);
      if (outcome.kind === 'failed') throw outcome.error;
      // 'ended': an earlier attempt with this key ended without a reservation; try afresh with a new job id.
    }
    throw new ApiError('UNAVAILABLE', 'the job could not be created, try again shortly');

    /** The row of this create: the key's (after checking the request is the same), or a freshly inserted one. */
    async function claimRow(): Promise<{ job: JobLog; inserted: boolean }> {
      for (;;) {
        if (key) {
          const existing = await jobs.findOneBy({ userId: user.id, idempotencyKey: key });
          if (existing) {
            if (existing.requestHash !== requestHash) {
              throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request body', {
                job_id: existing.id,
              });
            }
            return { job: existing, inserted: false };
          }
        }
        const job = newRow(user.id, req, requestHash);
        try {
          await jobs.insert(job);
          return { job, inserted: true };
        } catch (err) {
          // The same key raced in from a concurrent request: answer like a retry of it (or afresh if it is gone).
          if (!(key && isDuplicateKey(err))) throw err;
        }
      }
    }
  };

  function newRow(userId: string, req: CreateJobRequest, requestHash: string): JobLog {
    const now = new Date();
    return jobs.create({
      id: uuidv7(),
      userId,
      presetId: req.presetId,
      status: 'created',
      itemCount: req.itemCount,
      contentType: req.contentType,
      idempotencyKey: req.idempotencyKey,
      requestHash,
      concepts: null,
      protect: null,
      params: null,
      reservedAt: null,
      creditsReserved: 0,
      creditsCharged: 0,
      creditsRefunded: 0,
      errorCode: null,
      errorMessage: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    });
  }

  function jobInput(job: JobLog, unitCost: number): JobInput {
    return {
      jobId: job.id,
      userId: job.userId,
      presetId: job.presetId,
      itemCount: job.itemCount,
      contentType: job.contentType as UploadContentType,
      unitCost,
      uploadTimeout: config.UPLOAD_TIMEOUT,
      gpuTaskQueue: config.GPU_TASK_QUEUE,
      cpuTaskQueue: config.CPU_TASK_QUEUE,
      maxInFlight: config.JOB_MAX_IN_FLIGHT,
    };
  }
}

/** The API's job creation. */
export type JobCreator = ReturnType<typeof createJobCreator>;
