/** Endpoints 19 and 20 of API.md: exports of a done job's set, built by an export workflow on the CPU queue. */
import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { In, MoreThan, Not, type DataSource } from 'typeorm';
import type { z } from 'zod';
import { v7 as uuidv7 } from 'uuid';
import type { Config } from '../../domain/config';
import { MAX_RUNNING_EXPORTS, exportExtension, exportKey, type ExportTemplate } from '../../domain/exports';
import { JobExportLog } from '../../entities/JobExportLog';
import { JobItemLog } from '../../entities/JobItemLog';
import { JobVariantLog } from '../../entities/JobVariantLog';
import { isVariantTerminal } from '../../domain/variantMachine';
import { lockUser } from '../../services/credits';
import type { Storage } from '../../services/storage';
import { inTransaction } from '../../services/transaction';
import { CreateExportRequest, ExportView } from '../compareSchemas';
import { ApiError, notFound } from '../errors';
import { assertSheetFits } from '../exportFit';
import { exportBuildInput } from '../exportRequest';
import { exportExpiresAt } from '../exportViews';
import type { JobReader } from '../jobReader';
import type { RequestState } from '../middleware/envelope';
import type { RouteDoc } from '../openapi';
import { body } from '../validate';
import type { VariantWorkflows } from '../variantWorkflows';

/** What the export routes need. */
export interface ExportsDeps {
  ds: DataSource;
  storage: Storage;
  reader: JobReader;
  workflows: VariantWorkflows;
  config: Config;
  auth: Middleware<RequestState>;
}

/** Creates the exports router. */
export function createExportsRouter(deps: ExportsDeps): Router<RequestState> {
  const { ds, storage, reader, workflows, config } = deps;
  const rows = ds.getRepository(JobExportLog);
  const variants = ds.getRepository(JobVariantLog);
  // An export lives as long as one download URL: within that time the same request returns it.
  const lifetimeMs = config.PRESIGN_TTL_SECONDS * 1000;
  const router = new Router<RequestState>();

  const view = async (row: JobExportLog): Promise<z.input<typeof ExportView>> => {
    const expires = exportExpiresAt(row, lifetimeMs);
    // A fresh URL on every call, valid until the export's lifetime ends (at least a minute, to finish a download).
    const ttl = Math.max(60, Math.round((expires.getTime() - Date.now()) / 1000));
    return {
      id: row.id,
      job_id: row.jobId,
      template: row.template as ExportTemplate,
      variant: row.variant,
      format: row.format,
      status: row.status,
      download_url: row.status === 'done' ? await storage.presignGet(row.objectKey, ttl) : null,
      bytes: row.bytes,
      error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
      expires_at: expires.toISOString(),
      created_at: row.createdAt.toISOString(),
      finished_at: row.finishedAt?.toISOString() ?? null,
    };
  };

  /**
   * A variant as it is now: its mirror trails the workflow by one flush, so a variant the app just saw `done` (GET
   * answers from the live state) may still read `running` in the row. Ask the workflow then.
   */
  const live = async (row: JobVariantLog): Promise<JobVariantLog> => {
    if (isVariantTerminal(row.status) || row.creditsReserved === 0) return row;
    const state = await workflows.state(row.jobId, row.n).catch(() => null);
    return state ? Object.assign(row, { status: state.status, items: state.items }) : row;
  };

  router.post('/jobs/:id/exports', deps.auth, async (ctx) => {
    const input = body(ctx, CreateExportRequest);
    const job = await reader.ownJob(ctx.state.userId, ctx.params.id);
    if (job.status !== 'done') throw new ApiError('INVALID_STATE', `job is ${job.status}; exports need a done job`);
    const all = await Promise.all((await variants.find({ where: { jobId: job.id }, order: { n: 'ASC' } })).map(live));
    const doneVariants = all.filter((v) => v.status === 'done');
    let source: JobVariantLog | null = null;
    if (input.variant > 0 && input.template !== 'compare') {
      source = all.find((v) => v.n === input.variant && v.creditsReserved > 0) ?? null;
      if (!source) throw notFound(`variant ${input.variant} of job '${job.id}'`);
      if (source.status !== 'done') throw new ApiError('INVALID_STATE', `variant ${input.variant} is ${source.status}`);
    }
    // compare shows every done variant: a variant finished since makes it another export.
    const shown = input.template === 'compare' ? doneVariants.map((v) => v.n) : [];
    const requestHash = createHash('sha256')
      .update(JSON.stringify([input, shown]))
      .digest('hex');
    const id = uuidv7();
    const items = await ds.getRepository(JobItemLog).findBy({ jobId: job.id });
    const build = exportBuildInput(input, id, job, items, source, input.template === 'compare' ? doneVariants : []);
    await assertSheetFits(storage, build, items);
    const row = rows.create({
      id,
      jobId: job.id,
      userId: job.userId,
      template: input.template,
      variant: input.template === 'compare' ? 0 : input.variant,
      format: input.template === 'zip' ? 'zip' : input.format,
      requestHash,
      status: 'queued',
      objectKey: exportKey(job.userId, job.id, id, exportExtension(input.template, input.format)),
      bytes: null,
      errorCode: null,
      errorMessage: null,
      createdAt: new Date(),
      finishedAt: null,
    });
    // Look up, count and insert under the user's row lock (lockUser: FOR UPDATE on MySQL; SQLite transactions are
    // queued): concurrent requests at the limit pass one at a time, so at most MAX_RUNNING_EXPORTS are ever queued or
    // running, and two identical requests get one export. Refusals are returned, not thrown: a rollback on SQLite's
    // one shared connection would also undo other requests' writes that ran meanwhile.
    const claimed = await inTransaction(ds, async (m) => {
      await lockUser(m, job.userId);
      const tx = m.getRepository(JobExportLog);
      const same = await tx.findOne({
        where: {
          jobId: job.id,
          userId: job.userId,
          requestHash,
          status: Not('failed'),
          createdAt: MoreThan(new Date(Date.now() - lifetimeMs + 60_000)),
        },
        order: { createdAt: 'DESC' },
      });
      if (same) return { same };
      const running = await tx.countBy({ userId: job.userId, status: In(['queued', 'running']) });
      if (running >= MAX_RUNNING_EXPORTS) return { running };
      await tx.insert(row);
      return {};
    });
    if (claimed.same) {
      ctx.body = await view(claimed.same);
      return;
    }
    if (claimed.running !== undefined) {
      throw new ApiError('TOO_MANY_ACTIVE_JOBS', `at most ${MAX_RUNNING_EXPORTS} exports may run at once`, {
        limit: MAX_RUNNING_EXPORTS,
        active: claimed.running,
      });
    }
    try {
      await workflows.startExport({ exportId: id, userId: job.userId, jobId: job.id, build, cpuTaskQueue: config.CPU_TASK_QUEUE });
    } catch (err) {
      await rows.delete({ id }); // never started: not an export
      throw err;
    }
    ctx.status = 202;
    ctx.body = await view(row);
  });

  router.get('/jobs/:id/exports/:exportId', deps.auth, async (ctx) => {
    const job = await reader.ownJob(ctx.state.userId, ctx.params.id);
    const row = await rows.findOneBy({ id: ctx.params.exportId, jobId: job.id, userId: job.userId });
    if (!row) throw notFound(`export '${ctx.params.exportId}'`);
    ctx.body = await view(row);
  });

  return router;
}

/** OpenAPI description of this router. */
export const exportsDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/jobs/:id/exports',
    tag: 'export',
    summary:
      'Export the set with a template: zip (results, masks when asked, manifest.json), grid, before_after, compare; free of credits, at most 5 running per user',
    auth: true,
    body: CreateExportRequest,
    response: {
      status: 202,
      data: ExportView,
      description: 'queued (200 with the same export when the same body comes within its lifetime)',
    },
    errors: ['VALIDATION_ERROR', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'NOT_FOUND', 'INVALID_STATE', 'TOO_MANY_ACTIVE_JOBS', 'UNAVAILABLE'],
  },
  {
    method: 'get',
    path: '/jobs/:id/exports/:exportId',
    tag: 'export',
    summary: 'Export status and a freshly presigned download URL',
    auth: true,
    response: { status: 200, data: ExportView },
    errors: ['NOT_FOUND'],
  },
];
