import { createHash } from 'node:crypto';
import Router from '@koa/router';
import { z } from 'zod';
import type { Middleware } from 'koa';
import type { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import type { Storage } from '../../services/storage';
import { isDuplicateKey } from '../../services/transaction';
import type { Config } from '../../domain/config';
import { type ItemStatus } from '../../domain/jobStates';
import { planOf } from '../../domain/plans';
import { findPreset } from '../../domain/presets';
import type { UploadContentType } from '../../domain/storageKeys';
import { JobItemLog } from '../../entities/JobItemLog';
import { JobLog } from '../../entities/JobLog';
import type { JobInput } from '../../workflows/contract';
import type { JobState, ReserveResult } from '../../domain/jobData';
import { ApiError, notFound } from '../errors';
import { resolveExecute } from '../executeRequest';
import { answerWithEtag } from '../conditional';
import { cancelJob } from '../jobCancel';
import { createJobReader } from '../jobReader';
import { assertUploaded, uploadTickets } from '../jobUploads';
import { WorkflowGoneError, type JobWorkflows } from '../jobWorkflows';
import { jobView, summaryFromLog } from '../jobViews';
import type { RequestState } from '../middleware/envelope';
import type { RouteDoc } from '../openapi';
import {
  CreateJobRequest,
  CreateJobResponse,
  ExecuteJobRequest,
  IdempotencyKey,
  JobListResponse,
  JobView,
  JobViewQuery,
  ListJobsQuery,
} from '../schemas';
import { body, parseOrThrow, query, validationError } from '../validate';
import { currentUser } from './me';

/** The API error of a refused reservation. */
function refusal(outcome: Exclude<ReserveResult, { ok: true }>): ApiError {
  if (outcome.code === 'INSUFFICIENT_CREDITS') {
    return new ApiError('INSUFFICIENT_CREDITS', `this job needs ${outcome.needed} credits, ${outcome.available} available`, {
      needed: outcome.needed,
      available: outcome.available,
    });
  }
  return new ApiError('TOO_MANY_ACTIVE_JOBS', `at most ${outcome.limit} active jobs on this plan`, {
    limit: outcome.limit,
    active: outcome.active,
  });
}

/** What the job routes need. */
export interface JobsDeps {
  ds: DataSource;
  storage: Storage;
  workflows: JobWorkflows;
  config: Config;
  auth: Middleware<RequestState>;
}

/** Endpoints 9–13 and 15 of API.md (SSE and the provider callback live in their own routers). */
export function createJobsRouter(deps: JobsDeps): Router<RequestState> {
  const { ds, storage, workflows, config } = deps;
  const jobs = ds.getRepository(JobLog);
  const ttl = config.PRESIGN_TTL_SECONDS;
  const router = new Router<RequestState>();

  const reader = createJobReader(ds, workflows);
  const ownJob = reader.ownJob;
  const jobState = reader.state;
  const view = (state: JobState, job: JobLog) => jobView(state, job.contentType as UploadContentType, storage, ttl);

  router.post('/jobs', deps.auth, async (ctx) => {
    const input = body(ctx, CreateJobRequest);
    const key = ctx.get('Idempotency-Key') ? parseOrThrow(IdempotencyKey, ctx.get('Idempotency-Key'), 'Idempotency-Key header') : null;
    const preset = findPreset(input.preset_id);
    if (!preset) throw notFound(`preset '${input.preset_id}'`);
    const user = await currentUser(ds, ctx.state.userId);
    const plan = planOf(user.plan);
    if (input.item_count > plan.maxItemsPerJob) {
      throw validationError([{ path: ['item_count'], message: `at most ${plan.maxItemsPerJob} items per job on the ${plan.id} plan` }]);
    }
    const requestHash = createHash('sha256')
      .update(JSON.stringify([input.preset_id, input.item_count, input.content_type]))
      .digest('hex');

    const replay = async (existing: JobLog): Promise<void> => {
      if (existing.requestHash !== requestHash) {
        throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request body', {
          job_id: existing.id,
        });
      }
      return finish(existing, 200);
    };
    const create = async (): Promise<void> => {
      if (key) {
        const existing = await jobs.findOneBy({ userId: user.id, idempotencyKey: key });
        if (existing) return replay(existing);
      }
      const now = new Date();
      const job = jobs.create({
        id: uuidv7(),
        userId: user.id,
        presetId: preset.id,
        status: 'created',
        itemCount: input.item_count,
        contentType: input.content_type,
        idempotencyKey: key,
        requestHash,
        concepts: null,
        protect: null,
        params: null,
        creditsReserved: 0,
        creditsCharged: 0,
        creditsRefunded: 0,
        errorCode: null,
        errorMessage: null,
        createdAt: now,
        updatedAt: now,
        finishedAt: null,
      });
      try {
        await jobs.insert(job);
      } catch (err) {
        if (!(key && isDuplicateKey(err))) throw err;
        // The same key raced in from a concurrent request: answer like a retry of it (or afresh if it is gone).
        const raced = await jobs.findOneBy({ userId: user.id, idempotencyKey: key });
        return raced ? replay(raced) : create();
      }
      return finish(job, 201);
    };
    /**
     * Learns the reservation of a job whose create has not learned it yet — the first request, a concurrent one with
     * the same key, or a retry after an unclear failure: the start attaches to the job's running workflow
     * (USE_EXISTING) and its reserve update answers every caller with the same outcome — then answers.
     */
    const finish = async (job: JobLog, status: 200 | 201): Promise<void> => {
      if (job.status === 'created' && job.creditsReserved === 0) {
        let outcome: ReserveResult | null;
        try {
          outcome = await workflows.start(jobInput(job));
        } catch (err) {
          // Unknown whether the workflow started. With an Idempotency-Key the row stays and a retry with the key
          // re-drives this same job; without one, stop the workflow if it did start and drop the row.
          if (!key) {
            await workflows.cancelQuietly(job.id);
            await jobs.delete({ id: job.id });
          }
          throw err;
        }
        if (!outcome?.ok) {
          await jobs.delete({ id: job.id }); // refused (or its workflow already ended): the job never existed
          if (!outcome) return create();
          throw refusal(outcome);
        }
        job.creditsReserved = outcome.amount;
        await jobs.update({ id: job.id }, { creditsReserved: outcome.amount });
      }
      ctx.status = status;
      // Upload URLs only while uploads are still expected.
      const tickets = job.status === 'created' ? await uploadTickets(storage, job, ttl) : [];
      ctx.body = { job: await view(await jobState(job), job), uploads: tickets };
    };
    const jobInput = (job: JobLog): JobInput => ({
      jobId: job.id,
      userId: job.userId,
      presetId: job.presetId,
      itemCount: job.itemCount,
      contentType: job.contentType as UploadContentType,
      unitCost: plan.unitCost,
      uploadTimeout: config.UPLOAD_TIMEOUT,
      gpuTaskQueue: config.GPU_TASK_QUEUE,
      cpuTaskQueue: config.CPU_TASK_QUEUE,
      maxInFlight: config.JOB_MAX_IN_FLIGHT,
    });
    await create();
  });

  router.post('/jobs/:id/confirm-upload', deps.auth, async (ctx) => {
    const job = await ownJob(ctx.state.userId, ctx.params.id);
    if (job.status !== 'created') {
      if (job.status === 'failed' || job.status === 'canceled') throw new ApiError('INVALID_STATE', `job is ${job.status}`);
      ctx.body = await view(await jobState(job), job); // repeated after success: idempotent
      return;
    }
    await assertUploaded(storage, job);
    ctx.body = await view(await workflowCall(job, () => workflows.confirmUpload(job.id)), job);
  });

  router.post('/jobs/:id/execute', deps.auth, async (ctx) => {
    const input = body(ctx, ExecuteJobRequest);
    const job = await ownJob(ctx.state.userId, ctx.params.id);
    const resolved = await resolveExecute(ds, job, input);
    // The workflow, not the DB mirror (which trails it by a flush), decides whether the job can execute now.
    const state = await workflowCall(job, () => workflows.execute(job.id, resolved.execute));
    await jobs.update({ id: job.id }, { concepts: resolved.concepts, protect: resolved.protect, params: resolved.execute.params });
    ctx.status = 202;
    ctx.body = await view(state, job);
  });

  router.post('/jobs/:id/cancel', deps.auth, async (ctx) => {
    const job = await ownJob(ctx.state.userId, ctx.params.id);
    const state = await cancelJob(reader, workflows, job);
    // 200 with the canceled job; 202 when settling is still under way after the workflow's wait (rare: a dead GPU
    // worker's items wait out their heartbeat timeout) — the job ends canceled, GET /jobs/{id} shows it.
    ctx.status = state.status === 'canceled' ? 200 : 202;
    ctx.body = await view(state, job);
  });

  router.get('/jobs/:id', deps.auth, async (ctx) => {
    const page = query(ctx, JobViewQuery);
    const job = await ownJob(ctx.state.userId, ctx.params.id);
    const state = await jobState(job);
    answerWithEtag(
      ctx,
      await jobView(state, job.contentType as UploadContentType, storage, ttl, { offset: page.items_offset, limit: page.items_limit }),
    );
  });

  router.get('/jobs', deps.auth, async (ctx) => {
    const q = query(ctx, ListJobsQuery);
    const qb = jobs
      .createQueryBuilder('j')
      .where('j.user_id = :u', { u: ctx.state.userId })
      .orderBy('j.id', 'DESC')
      .take(q.limit + 1);
    if (q.cursor) qb.andWhere('j.id < :c', { c: q.cursor });
    qb.andWhere("NOT (j.status = 'created' AND j.credits_reserved = 0)"); // creates in progress (see isUnreserved)
    const rows = await qb.getMany();
    const page = rows.slice(0, q.limit);
    const counts = await itemCounts(page.map((j) => j.id));
    ctx.body = {
      items: page.map((j) => summaryFromLog(j, counts.get(j.id) ?? {})),
      next_cursor: rows.length > q.limit ? page[page.length - 1].id : null,
    };
  });

  /** Item status counts of these jobs from the mirror, in one grouped query. */
  async function itemCounts(ids: string[]): Promise<Map<string, Partial<Record<ItemStatus, number>>>> {
    const out = new Map<string, Partial<Record<ItemStatus, number>>>();
    if (ids.length === 0) return out;
    const rows: { job_id: string; status: ItemStatus; n: string | number }[] = await ds
      .getRepository(JobItemLog)
      .createQueryBuilder('i')
      .select(['i.job_id AS job_id', 'i.status AS status', 'COUNT(*) AS n'])
      .where('i.job_id IN (:...ids)', { ids })
      .groupBy('i.job_id')
      .addGroupBy('i.status')
      .getRawMany();
    for (const r of rows) out.set(r.job_id, { ...out.get(r.job_id), [r.status]: Number(r.n) });
    return out;
  }

  /** Runs an update; a workflow that is gone means the job already ended. */
  async function workflowCall(job: JobLog, fn: () => Promise<JobState>): Promise<JobState> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof WorkflowGoneError) throw new ApiError('INVALID_STATE', 'job has ended');
      throw err;
    }
  }

  return router;
}

const bodyErrors = ['VALIDATION_ERROR', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE'] as const;
/** OpenAPI description of this router. */
export const jobsDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/jobs',
    tag: 'jobs',
    summary: 'Create a job: reserve credits, get presigned upload URLs',
    auth: true,
    body: CreateJobRequest,
    headers: {
      'Idempotency-Key': {
        description: 'Same key and body → the same job (no second reservation); same key, other body → 409',
        schema: IdempotencyKey,
      },
    },
    response: { status: 201, data: CreateJobResponse, description: 'created (200 when an Idempotency-Key replays an earlier create)' },
    errors: [...bodyErrors, 'NOT_FOUND', 'INSUFFICIENT_CREDITS', 'TOO_MANY_ACTIVE_JOBS', 'IDEMPOTENCY_KEY_REUSED', 'UNAVAILABLE'],
  },
  {
    method: 'post',
    path: '/jobs/:id/confirm-upload',
    tag: 'jobs',
    summary: 'Every input is uploaded',
    auth: true,
    response: { status: 200, data: JobView },
    errors: ['NOT_FOUND', 'UPLOAD_INCOMPLETE', 'INVALID_STATE', 'UNAVAILABLE'],
  },
  {
    method: 'post',
    path: '/jobs/:id/execute',
    tag: 'jobs',
    summary: 'Start processing with concepts, protect and a rule',
    auth: true,
    body: ExecuteJobRequest,
    response: { status: 202, data: JobView },
    errors: [...bodyErrors, 'NOT_FOUND', 'INVALID_STATE', 'UNAVAILABLE'],
  },
  {
    method: 'get',
    path: '/jobs/:id',
    tag: 'jobs',
    summary: 'Status, progress and per-item results (items paged; ETag, If-None-Match → 304)',
    auth: true,
    query: JobViewQuery,
    headers: {
      'If-None-Match': {
        description: 'The ETag of a JobView the client has: 304 without a body while it is unchanged',
        schema: z.string(),
      },
    },
    response: { status: 200, data: JobView, description: 'the job with the items of the page (304 Not Modified: unchanged)' },
    errors: ['NOT_FOUND', 'VALIDATION_ERROR'],
  },
  {
    method: 'post',
    path: '/jobs/:id/cancel',
    tag: 'jobs',
    summary: 'Cancel (in-flight items stop, their credits are refunded)',
    auth: true,
    response: { status: 200, data: JobView, description: 'canceled (202 with the same JobView while settling is still under way)' },
    errors: ['NOT_FOUND', 'INVALID_STATE', 'UNAVAILABLE'],
  },
  {
    method: 'get',
    path: '/jobs',
    tag: 'jobs',
    summary: 'My jobs, newest first, cursor-paginated',
    auth: true,
    query: ListJobsQuery,
    response: { status: 200, data: JobListResponse },
    errors: ['VALIDATION_ERROR'],
  },
];
