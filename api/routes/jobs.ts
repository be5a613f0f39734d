import Router from '@koa/router';
import { z } from 'zod';
import type { Middleware } from 'koa';
import { LessThan, type DataSource } from 'typeorm';
import type { Storage } from '../../services/storage';
import { durationMs, type Config } from '../../domain/config';
import { isTerminal, type ItemStatus } from '../../domain/jobStates';
import type { UploadContentType } from '../../domain/storageKeys';
import { JobItemLog } from '../../entities/JobItemLog';
import { JobLog } from '../../entities/JobLog';
import { Rule } from '../../entities/Rule';
import type { JobState } from '../../domain/jobData';
import { ApiError } from '../errors';
import { resolveExecute, type RuleLookup } from '../executeRequest';
import { answerWithEtag, serialized, type SerializedAnswer } from '../conditional';
import { cancelJob } from '../jobCancel';
import { createJobCreator } from '../jobCreate';
import { createJobReader, IS_JOB } from '../jobReader';
import { assertUploaded, uploadTickets } from '../jobUploads';
import { WorkflowGoneError, type JobWorkflows } from '../jobWorkflows';
import { jobView, summaryFromLog, type ItemPage } from '../jobViews';
import { exportSummaries } from '../exportViews';
import type { JobViewCache } from '../jobViewCache';
import { variantSummaries } from '../variantViews';
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
import { body, parseOrThrow, query } from '../validate';

/** What the job routes need. */
export interface JobsDeps {
  ds: DataSource;
  storage: Storage;
  workflows: JobWorkflows;
  /** Serialized JobView pages of terminal jobs. */
  views: JobViewCache;
  config: Config;
  auth: Middleware<RequestState>;
}

/** Endpoints 9–13 and 15 of API.md (SSE and the provider callback live in their own routers). */
export function createJobsRouter(deps: JobsDeps): Router<RequestState> {
  const { ds, storage, workflows, config } = deps;
  const jobs = ds.getRepository(JobLog);
  const ttl = config.PRESIGN_TTL_SECONDS;
  const uploadWindowMs = durationMs(config.UPLOAD_TIMEOUT);
  const router = new Router<RequestState>();

  const reader = createJobReader(ds, workflows);
  const createJob = createJobCreator({ ds, workflows, config });
  const findRule: RuleLookup = (id, userId) => ds.getRepository(Rule).findOneBy({ id, userId });
  const ownJob = reader.ownJob;
  const jobState = reader.state;
  const view = async (state: JobState, job: JobLog) =>
    jobView(state, job.contentType as UploadContentType, storage, ttl, {
      params: job.params,
      variants: await variantSummaries(ds, job.id),
      exports: await exportSummaries(ds, job.id, ttl * 1000),
    });

  router.post('/jobs', deps.auth, async (ctx) => {
    const input = body(ctx, CreateJobRequest);
    const header = ctx.get('Idempotency-Key');
    const idempotencyKey = header ? parseOrThrow(IdempotencyKey, header, 'Idempotency-Key header') : null;
    const { job, status } = await createJob(ctx.state.userId, {
      presetId: input.preset_id,
      itemCount: input.item_count,
      contentType: input.content_type,
      sizes: input.sizes,
      idempotencyKey,
    });
    ctx.status = status;
    // Upload URLs only while uploads are still expected.
    const tickets = job.status === 'created' ? await uploadTickets(storage, job, input.sizes, ttl, uploadWindowMs) : [];
    ctx.body = { job: await view(await jobState(job), job), uploads: tickets };
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
    const rule = await resolveExecute(findRule, job, input);
    // The workflow, not the DB mirror (which trails it by a flush), decides whether the job can execute now; its
    // mirror records the rule.
    const state = await workflowCall(job, () => workflows.execute(job.id, rule));
    ctx.status = 202;
    ctx.body = await view(state, job);
  });

  router.post('/jobs/:id/cancel', deps.auth, async (ctx) => {
    const job = await ownJob(ctx.state.userId, ctx.params.id);
    // A job canceled before its uploads were confirmed has its upload tickets refused by the store before it settles
    // (the workflow's sealUploads), so they are refused once this answers 200.
    const state = await cancelJob(reader, workflows, job);
    // 200 with the canceled job; 202 when settling is still under way after the workflow's wait (rare: a dead GPU
    // worker's items wait out their heartbeat timeout) — the job ends canceled, GET /jobs/{id} shows it.
    ctx.status = state.status === 'canceled' ? 200 : 202;
    ctx.body = await view(state, job);
  });

  router.get('/jobs/:id', deps.auth, async (ctx) => {
    const q = query(ctx, JobViewQuery);
    const job = await ownJob(ctx.state.userId, ctx.params.id);
    answerWithEtag(ctx, await pageAnswer(job, { offset: q.items_offset, limit: q.items_limit }));
  });

  /** A page of the JobView, serialized; a terminal job's is built once and reused while its key holds. */
  async function pageAnswer(job: JobLog, page: ItemPage): Promise<SerializedAnswer> {
    const [variants, exports] = await Promise.all([variantSummaries(ds, job.id), exportSummaries(ds, job.id, ttl * 1000)]);
    const key = isTerminal(job.status) ? deps.views.key(job, page, { variants, exports }) : undefined;
    const reused = key === undefined ? undefined : deps.views.get(key);
    if (reused) return reused;
    const { state, setChecks } = await reader.page(job, page);
    const contentType = job.contentType as UploadContentType;
    const answer = serialized(await jobView(state, contentType, storage, ttl, { params: job.params, variants, exports, setChecks }));
    if (key !== undefined && isTerminal(state.status)) deps.views.set(key, answer);
    return answer;
  }

  router.get('/jobs', deps.auth, async (ctx) => {
    const q = query(ctx, ListJobsQuery);
    const rows = await jobs.find({
      where: { userId: ctx.state.userId, ...IS_JOB, ...(q.cursor ? { id: LessThan(q.cursor) } : {}) },
      order: { id: 'DESC' },
      take: q.limit + 1,
    });
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
    errors: [
      ...bodyErrors,
      'NOT_FOUND',
      'INSUFFICIENT_CREDITS',
      'TOO_MANY_ACTIVE_JOBS',
      'IDEMPOTENCY_KEY_REUSED',
      'INVALID_STATE',
      'UNAVAILABLE',
    ],
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
