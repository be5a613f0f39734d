/** Prometheus metrics of the API: HTTP latency by route and status, jobs by status (from the DB mirror). */
import type { Middleware } from 'koa';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DataSource } from 'typeorm';
import { JOB_STATUSES } from '../domain/jobStates';
import type { RequestState } from './middleware/envelope';

/** The API's metric registry and the middleware that feeds it. */
export function createApiMetrics(deps: { ds: DataSource }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'http_errors_total',
    help: 'Error answers by code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const clientAborts = new Counter({
    name: 'http_client_aborts_total',
    help: 'Requests and connections the client broke before the answer (not server errors)',
    registers: [registry],
  });
  new Gauge({
    name: 's3_jobs',
    help: 'Jobs by status (DB mirror)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const rows: { status: string; n: string | number }[] = await deps.ds.query(
        'SELECT status, COUNT(*) AS n FROM jobs_log GROUP BY status',
      );
      for (const s of JOB_STATUSES) this.set({ status: s }, Number(rows.find((r) => r.status === s)?.n ?? 0));
    },
  });

  const middleware: Middleware<RequestState> = async function httpMetrics(ctx, next) {
    const end = duration.startTimer();
    try {
      await next();
    } finally {
      // The route pattern, not the raw path, keeps label cardinality bounded.
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      end({ method: ctx.method, route: String(route), status: String(ctx.status) });
      const body = ctx.body as { error?: { code?: string } } | undefined;
      if (ctx.state.clientAborted) clientAborts.inc();
      else if (body?.error?.code) errors.inc({ code: body.error.code });
    }
  };
  /** Exposes the SSE hub's open streams and polled jobs (one poll per job, however many streams follow it). */
  const observeSse = (hub: { openStreams(): number; polledJobs(): number }) => {
    new Gauge({
      name: 'sse_open_streams',
      help: 'Open GET /jobs/{id}/events streams',
      registers: [registry],
      collect() {
        this.set(hub.openStreams());
      },
    });
    new Gauge({
      name: 'sse_polled_jobs',
      help: 'Jobs the SSE hub polls (one poll loop per job)',
      registers: [registry],
      collect() {
        this.set(hub.polledJobs());
      },
    });
  };
  return { registry, middleware, clientAborts, observeSse };
}
