/** Builds the Koa app from its dependencies, without listening (tests drive `app.callback()` over real HTTP). */
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { Credits } from '../services/credits';
import type { Storage } from '../services/storage';
import { durationMs, type Config } from '../domain/config';
import { requireAuth } from './auth';
import { isClientAbort } from './clientAborts';
import { createApiMetrics } from './metrics';
import { jsonBody } from './middleware/body';
import { envelope, type RequestState } from './middleware/envelope';
import { buildOpenApi, type RouteDoc } from './openapi';
import { authDocs, createAuthRouter } from './routes/auth';
import { createDocsRouter, docsDocs } from './routes/docs';
import { createHealthRouter, healthDocs, type ReadinessChecks } from './routes/health';
import { createMeRouter, meDocs } from './routes/me';
import { createPresetsRouter, presetsDocs } from './routes/presets';
import { createRulesRouter, rulesDocs } from './routes/rules';
import { callbackDocs, createCallbackRouter } from './routes/callback';
import { createJobEventsRouter, finished, jobEventsDocs } from './routes/jobEvents';
import { createJobsRouter, jobsDocs } from './routes/jobs';
import { createProvidersRouter, providersDocs } from './routes/providers';
import { createExportsRouter, exportsDocs } from './routes/exports';
import { createVariantsRouter, variantsDocs } from './routes/variants';
import { createVariantWorkflows } from './variantWorkflows';
import { exportSummaries } from './exportViews';
import { variantSummaries } from './variantViews';
import { createJobReader } from './jobReader';
import { withPresignCache } from './presignCache';
import { createJobViewCache } from './jobViewCache';
import { createSseHub } from './sseHub';
import { createJobWorkflows } from './jobWorkflows';

/** What the app needs, wired explicitly by the server entry (or a test). */
export interface AppDeps {
  config: Config;
  ds: DataSource;
  credits: Credits;
  log: Logger;
  checks: ReadinessChecks;
  /** Storage and Temporal, for the job routes (an app without them serves endpoints 1–8 only). */
  jobs?: { storage: Storage; temporal: Client };
}

const VERSION = '1.0.0';

/** Every documented route of the API. */
export const ROUTE_DOCS: RouteDoc[] = [
  ...authDocs,
  ...meDocs,
  ...presetsDocs,
  ...rulesDocs,
  ...jobsDocs,
  ...variantsDocs,
  ...exportsDocs,
  ...callbackDocs,
  ...providersDocs,
  ...jobEventsDocs,
  ...healthDocs,
  ...docsDocs,
];

/** The OpenAPI document of this API. */
export function openApiDocument(): Record<string, unknown> {
  return buildOpenApi(
    [
      ...ROUTE_DOCS,
      {
        method: 'get',
        path: '/metrics',
        tag: 'ops',
        summary: 'Prometheus metrics',
        auth: false,
        response: { status: 200, mediaType: 'text/plain' },
        errors: [],
      },
    ],
    VERSION,
  );
}

/** Creates the app. */
export function createApp(deps: AppDeps): Koa<RequestState> {
  // Behind N reverse proxies the client address is the Nth entry from the right of X-Forwarded-For; entries further
  // left are whatever the client sent, so they must never key the sign-up rate limit.
  const hops = deps.config.TRUST_PROXY_HOPS;
  const app = new Koa<RequestState>({ proxy: hops > 0, maxIpsCount: hops });
  // Asked on every authenticated request (a deleted user's token must stop at once): one indexed raw look-up, not
  // the query builder's EXISTS round.
  const userExists = async (id: string) => (await deps.ds.query('SELECT 1 AS found FROM users WHERE id = ?', [id])).length > 0;
  const auth = requireAuth(deps.config.JWT_SECRET, userExists);
  const metrics = createApiMetrics({ ds: deps.ds });
  let document: Record<string, unknown> | undefined;

  const ops = new Router<RequestState>();
  ops.get('/metrics', async (ctx) => {
    ctx.state.raw = true;
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });

  const routers = [
    createHealthRouter({ checks: deps.checks }),
    createDocsRouter({ document: () => (document ??= openApiDocument()) }),
    ops,
    createAuthRouter({ credits: deps.credits, config: deps.config }),
    createPresetsRouter(),
    createMeRouter({ ds: deps.ds, auth }),
    createRulesRouter({ ds: deps.ds, auth }),
  ];
  if (deps.jobs) {
    const { temporal } = deps.jobs;
    // A terminal job's JobView page is reused for up to a minute; URLs are handed out that much less long, so a URL
    // in a reused page still has half of its lifetime to live.
    const viewReuseSeconds = Math.min(60, deps.config.PRESIGN_TTL_SECONDS / 4);
    const storage = withPresignCache(deps.jobs.storage, deps.config.PRESIGN_TTL_SECONDS, viewReuseSeconds);
    const views = createJobViewCache({ reuseSeconds: viewReuseSeconds, maxBytes: deps.config.JOB_VIEW_CACHE_MB * 1024 * 1024 });
    const callTimeoutMs = durationMs(deps.config.TEMPORAL_CALL_TIMEOUT);
    const workflows = createJobWorkflows(temporal, deps.config.TEMPORAL_TASK_QUEUE, callTimeoutMs);
    const reader = createJobReader(deps.ds, workflows);
    const hub = createSseHub({
      reader,
      variants: (jobId) => variantSummaries(deps.ds, jobId),
      finished,
      maxPerUser: deps.config.SSE_MAX_STREAMS_PER_USER,
    });
    metrics.observeSse(hub);
    routers.push(
      createJobsRouter({ ds: deps.ds, storage, workflows, views, config: deps.config, auth }),
      createJobEventsRouter({
        reader,
        hub,
        storage,
        presignTtl: deps.config.PRESIGN_TTL_SECONDS,
        exports: (jobId) => exportSummaries(deps.ds, jobId, deps.config.PRESIGN_TTL_SECONDS * 1000),
        auth,
      }),
      createCallbackRouter({ client: temporal, secret: deps.config.GPU_CALLBACK_SECRET, callTimeoutMs }),
      createProvidersRouter({ client: temporal, secret: deps.config.GPU_CALLBACK_SECRET, callTimeoutMs }),
    );
    const compare = { ds: deps.ds, storage, reader, config: deps.config, auth };
    const variantWorkflows = createVariantWorkflows(temporal, deps.config.TEMPORAL_TASK_QUEUE, callTimeoutMs);
    routers.push(
      createVariantsRouter({ ...compare, workflows: variantWorkflows }),
      createExportsRouter({ ...compare, workflows: variantWorkflows }),
    );
  }

  // Koa reports errors it caught outside the envelope here (a response stream that broke, a socket Node's parser
  // gave up on). A client that closes an SSE stream, a download or its connection early is routine, not an error of
  // ours; anything else is logged with its stack.
  app.on('error', (err: Error & { code?: string }) => {
    if (isClientAbort(err)) {
      metrics.clientAborts.inc();
      deps.log.debug({ err }, 'client went away');
    } else deps.log.error({ err }, 'unhandled error');
  });
  app.use(metrics.middleware);
  app.use(envelope({ log: deps.log }));
  app.use(jsonBody());
  // Not `throw: true`: its 501 carries no Allow header; the envelope turns the router's 405/501 into METHOD_NOT_ALLOWED.
  for (const r of routers) app.use(r.routes()).use(r.allowedMethods());
  return app;
}
