/** Endpoints 17, 18, 18b of API.md: variants (compare) of a done job on its stored masks. */
import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { DataSource } from 'typeorm';
import type { z } from 'zod';
import { refusalMessage, type ReserveRefusal } from '../../domain/jobData';
import { planOf, variantCost } from '../../domain/plans';
import { inputKey, type UploadContentType } from '../../domain/storageKeys';
import { isVariantTerminal, type VariantRule } from '../../domain/variantMachine';
import type { Config } from '../../domain/config';
import { JobItemLog } from '../../entities/JobItemLog';
import type { JobLog } from '../../entities/JobLog';
import { JobVariantLog } from '../../entities/JobVariantLog';
import { Rule } from '../../entities/Rule';
import type { Storage } from '../../services/storage';
import { lockUser } from '../../services/credits';
import { inTransaction, isDuplicateKey } from '../../services/transaction';
import type { VariantInput } from '../../workflows/variantContract';
import { CreateVariantRequest, VariantView } from '../compareSchemas';
import { ApiError, notFound } from '../errors';
import type { JobReader } from '../jobReader';
import { WorkflowGoneError } from '../jobWorkflows';
import type { RequestState } from '../middleware/envelope';
import type { RouteDoc } from '../openapi';
import { IdempotencyKey } from '../schemas';
import { body, parseOrThrow, validationError } from '../validate';
import type { VariantWorkflows } from '../variantWorkflows';
import { variantStateFromLog, variantView } from '../variantViews';
import { currentUser } from '../currentUser';

/** What the variant routes need. */
export interface VariantsDeps {
  ds: DataSource;
  storage: Storage;
  reader: JobReader;
  workflows: VariantWorkflows;
  config: Config;
  auth: Middleware<RequestState>;
}

/** The error code the API leaves on a variant row that never reserved (its number stays spent, its slot is free). */
const NOT_RESERVED = 'NOT_RESERVED';

/**
 * Whether a variant row takes one of the job's `max_variants_per_job` slots: every row except one the API dropped
 * because it never reserved. A row whose reservation is still under way counts — it is about to be a variant — and so
 * does one kept for its Idempotency-Key after an unknown outcome (Temporal unreachable): its retry re-drives it.
 */
function holdsSlot(r: Pick<JobVariantLog, 'status' | 'creditsReserved' | 'errorCode'>): boolean {
  return !(r.status === 'queued' && r.creditsReserved === 0 && r.errorCode === NOT_RESERVED);
}

/** What the numbering transaction of a create decided. */
type Claim = { kind: 'existing' | 'created'; row: JobVariantLog } | { kind: 'full' };

/** The rule of a variant request, checked against the job: only the job's segmented concepts can be rendered. */
async function resolveRule(ds: DataSource, job: JobLog, input: z.output<typeof CreateVariantRequest>): Promise<VariantRule> {
  if ((input.rule_id === undefined) === (input.params === undefined)) {
    throw validationError([{ path: ['rule_id'], message: 'give exactly one of rule_id or params' }]);
  }
  let rule: VariantRule;
  if (input.rule_id !== undefined) {
    const saved = await ds.getRepository(Rule).findOneBy({ id: input.rule_id, userId: job.userId });
    if (!saved) throw notFound(`rule '${input.rule_id}'`);
    rule = { rule_id: saved.id, params: saved.params };
  } else rule = { params: input.params! };
  const concepts = job.concepts ?? [];
  const where = input.rule_id !== undefined ? 'rule_id' : 'params.operations';
  const issues = rule.params.operations.flatMap((op, i) =>
    concepts.includes(op.concept)
      ? []
      : [
          {
            path: [...where.split('.'), ...(where === 'rule_id' ? [] : [i, 'concept'])],
            message: `'${op.concept}' is not one of the job's concepts (${concepts.join(', ')})`,
          },
        ],
  );
  if (issues.length) throw validationError(issues);
  return rule;
}

/** Creates the variants router. */
export function createVariantsRouter(deps: VariantsDeps): Router<RequestState> {
  const { ds, storage, reader, workflows, config } = deps;
  const rows = ds.getRepository(JobVariantLog);
  const ttl = config.PRESIGN_TTL_SECONDS;
  const router = new Router<RequestState>();

  const ownVariant = async (userId: string | undefined, jobId: string, n: string): Promise<{ job: JobLog; row: JobVariantLog }> => {
    const job = await reader.ownJob(userId, jobId);
    const row = /^\d{1,6}$/.test(n) ? await rows.findOneBy({ jobId: job.id, n: Number(n) }) : null;
    if (!row || (row.status === 'queued' && row.creditsReserved === 0)) throw notFound(`variant ${n} of job '${jobId}'`);
    return { job, row };
  };
  /** The live state while the workflow runs; the mirror once it ended (or Temporal is away). */
  const stateOf = async (row: JobVariantLog) => {
    if (!isVariantTerminal(row.status)) {
      try {
        return await workflows.state(row.jobId, row.n);
      } catch (err) {
        if (!(err instanceof WorkflowGoneError) && !(err instanceof ApiError && err.code === 'UNAVAILABLE')) throw err;
      }
    }
    return variantStateFromLog(row);
  };

  router.post('/jobs/:id/variants', deps.auth, async (ctx) => {
    const input = body(ctx, CreateVariantRequest);
    const key = ctx.get('Idempotency-Key') ? parseOrThrow(IdempotencyKey, ctx.get('Idempotency-Key'), 'Idempotency-Key header') : null;
    const job = await reader.ownJob(ctx.state.userId, ctx.params.id);
    if (job.status !== 'done') throw new ApiError('INVALID_STATE', `job is ${job.status}; variants need a done job`);
    const rule = await resolveRule(ds, job, input);
    const plan = planOf((await currentUser(ds, ctx.state.userId)).plan);
    const requestHash = createHash('sha256')
      .update(JSON.stringify([input.rule_id ?? null, input.params ?? null, input.output_format]))
      .digest('hex');
    const done = (await ds.getRepository(JobItemLog).findBy({ jobId: job.id, status: 'done' })).sort((a, b) => a.idx - b.idx);

    const replay = async (row: JobVariantLog) => {
      if (row.requestHash !== requestHash) {
        throw new ApiError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request body', { n: row.n });
      }
      return finish(row, 200);
    };
    const create = async (attempt = 0): Promise<void> => {
      const now = new Date();
      // Count and number under the user's row lock (lockUser: FOR UPDATE on MySQL; SQLite transactions are queued),
      // so concurrent requests at the limit pass one at a time and exactly the plan's number get a variant. The
      // refusal is returned, not thrown: a rollback on SQLite's one shared connection would also undo other
      // requests' writes that ran meanwhile.
      const claimed = await inTransaction(ds, async (m): Promise<Claim> => {
        await lockUser(m, job.userId);
        const tx = m.getRepository(JobVariantLog);
        if (key) {
          const existing = await tx.findOneBy({ jobId: job.id, idempotencyKey: key });
          if (existing) return { kind: 'existing', row: existing };
        }
        const taken = await tx.find({
          where: { jobId: job.id },
          select: { n: true, status: true, creditsReserved: true, errorCode: true },
        });
        if (taken.filter(holdsSlot).length >= plan.maxVariantsPerJob) return { kind: 'full' };
        const row = tx.create({
          jobId: job.id,
          n: Math.max(0, ...taken.map((r) => r.n)) + 1,
          userId: job.userId,
          status: 'queued',
          rule,
          outputFormat: input.output_format,
          idempotencyKey: key,
          requestHash,
          items: done.map((i) => ({ idx: i.idx, status: 'pending' as const })),
          creditsReserved: 0,
          creditsCharged: 0,
          creditsRefunded: 0,
          errorCode: null,
          errorMessage: null,
          createdAt: now,
          updatedAt: now,
          finishedAt: null,
        });
        await tx.insert(row);
        return { kind: 'created', row };
      }).catch((err: unknown) => {
        // Only another API process on the same SQLite file can still collide (it is outside the in-process queue).
        if (isDuplicateKey(err) && attempt < 5) return null;
        throw err;
      });
      if (!claimed) return create(attempt + 1);
      if (claimed.kind === 'existing') return replay(claimed.row);
      if (claimed.kind === 'full') {
        throw new ApiError('VARIANT_LIMIT_REACHED', `at most ${plan.maxVariantsPerJob} variants per job on the ${plan.id} plan`, {
          limit: plan.maxVariantsPerJob,
        });
      }
      return finish(claimed.row, 202);
    };
    // A variant that never reserved stays as an invisible row (queued, nothing reserved: not shown, not counted
    // against the limit) rather than being deleted: its number — and so its workflow id and ledger ref, which a
    // closed workflow and the ledger's settlement marker still hold — is never handed out again. Its
    // Idempotency-Key is freed so a retry makes a fresh attempt.
    const drop = (row: JobVariantLog) => rows.update({ jobId: job.id, n: row.n }, { idempotencyKey: null, errorCode: NOT_RESERVED });
    let attemptsLeft = 3;
    /** Learns the variant's reservation (Update-with-Start; a retry attaches to the same workflow), then answers. */
    const finish = async (row: JobVariantLog, status: 200 | 202): Promise<void> => {
      if (row.status === 'queued' && row.creditsReserved === 0) {
        const outcome = await workflows.start(variantInput(row)).catch(async (err: unknown) => {
          if (!key) {
            await workflows.cancelQuietly(job.id, row.n);
            await drop(row);
          }
          throw err;
        });
        if (!outcome?.ok) {
          await drop(row);
          if (!outcome) {
            if (attemptsLeft-- > 0) return create();
            throw new ApiError('UNAVAILABLE', 'the variant could not be started; try again');
          }
          throw refusal(outcome);
        }
        row.creditsReserved = outcome.amount;
        await rows.update({ jobId: job.id, n: row.n }, { creditsReserved: outcome.amount });
      }
      ctx.status = status;
      ctx.body = await variantView(await stateOf(row), storage, ttl);
    };
    const variantInput = (row: JobVariantLog): VariantInput => ({
      jobId: job.id,
      userId: job.userId,
      presetId: job.presetId,
      n: row.n,
      items: done.map((i) => ({
        item: {
          userId: job.userId,
          jobId: job.id,
          idx: i.idx,
          inputKey: inputKey(job.userId, job.id, i.idx, job.contentType as UploadContentType),
        },
        masks: i.masks ?? {},
      })),
      concepts: job.concepts ?? [],
      protect: job.protect ?? [],
      rule: row.rule,
      outputFormat: input.output_format,
      amount: variantCost(plan, done.length),
      itemsPerCredit: plan.variantItemsPerCredit,
      cpuTaskQueue: config.CPU_TASK_QUEUE,
      maxInFlight: config.JOB_MAX_IN_FLIGHT,
    });
    await create();
  });

  router.get('/jobs/:id/variants/:n', deps.auth, async (ctx) => {
    const { row } = await ownVariant(ctx.state.userId, ctx.params.id, ctx.params.n);
    ctx.body = await variantView(await stateOf(row), storage, ttl);
  });

  router.post('/jobs/:id/variants/:n/cancel', deps.auth, async (ctx) => {
    const { row } = await ownVariant(ctx.state.userId, ctx.params.id, ctx.params.n);
    let state = await stateOf(row);
    if (state.status !== 'canceled') {
      if (isVariantTerminal(state.status)) throw new ApiError('INVALID_STATE', `variant is ${state.status}`);
      try {
        state = await workflows.cancel(row.jobId, row.n);
      } catch (err) {
        if (err instanceof WorkflowGoneError) throw new ApiError('INVALID_STATE', 'variant has ended');
        throw err;
      }
    }
    // 200 once canceled; 202 while settling is still under way after the workflow's bounded wait.
    ctx.status = state.status === 'canceled' ? 200 : 202;
    ctx.body = await variantView(state, storage, ttl);
  });

  return router;
}

function refusal(r: ReserveRefusal): ApiError {
  const details = r.code === 'INSUFFICIENT_CREDITS' ? { needed: r.needed, available: r.available } : { limit: r.limit, active: r.active };
  return new ApiError(r.code, refusalMessage(r).replace('the job', 'the variant'), details);
}

const bodyErrors = ['VALIDATION_ERROR', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE'] as const;
/** OpenAPI description of this router. */
export const variantsDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/jobs/:id/variants',
    tag: 'compare',
    summary: 'Compare: render another rule on a done job’s stored masks (no segmentation; costs ceil(done items / 4) credits)',
    auth: true,
    body: CreateVariantRequest,
    headers: {
      'Idempotency-Key': { description: 'Same key and body → the same variant (200); same key, other body → 409', schema: IdempotencyKey },
    },
    response: { status: 202, data: VariantView, description: 'queued (200 when an Idempotency-Key replays an earlier request)' },
    errors: [
      ...bodyErrors,
      'NOT_FOUND',
      'INVALID_STATE',
      'VARIANT_LIMIT_REACHED',
      'IDEMPOTENCY_KEY_REUSED',
      'INSUFFICIENT_CREDITS',
      'TOO_MANY_ACTIVE_JOBS',
      'UNAVAILABLE',
    ],
  },
  {
    method: 'get',
    path: '/jobs/:id/variants/:n',
    tag: 'compare',
    summary: 'One variant: status, progress, per-item results and checks, set_checks',
    auth: true,
    response: { status: 200, data: VariantView },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'post',
    path: '/jobs/:id/variants/:n/cancel',
    tag: 'compare',
    summary: 'Cancel a running variant (what it did not render is refunded)',
    auth: true,
    response: { status: 200, data: VariantView, description: 'canceled (202 while settling is still under way)' },
    errors: ['NOT_FOUND', 'INVALID_STATE', 'UNAVAILABLE'],
  },
];
