import Router from '@koa/router';
import { ApiError } from '../errors';
import type { RequestState } from '../middleware/envelope';
import type { RouteDoc } from '../openapi';
import { HealthResponse, ReadyResponse } from '../schemas';

/** A named dependency check for `/readyz`: resolves when reachable. */
export type ReadinessChecks = Record<string, () => Promise<unknown>>;

const CHECK_TIMEOUT_MS = 3000;

async function probe(check: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([check(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS)))]);
    return 'ok';
  } catch (err) {
    return `down: ${(err as Error).message || String(err)}`.slice(0, 200);
  } finally {
    clearTimeout(timer);
  }
}

/** `GET /healthz` (the process is up) and `GET /readyz` (every dependency answers; 503 naming the ones that do not). */
export function createHealthRouter(deps: { checks: ReadinessChecks }): Router<RequestState> {
  const router = new Router<RequestState>();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const names = Object.keys(deps.checks);
    const results = await Promise.all(names.map((n) => probe(deps.checks[n])));
    const checks = Object.fromEntries(names.map((n, i) => [n, results[i]]));
    const down = names.filter((n) => checks[n] !== 'ok');
    if (down.length)
      throw new ApiError('UNAVAILABLE', `not ready: ${down.join(', ')} unreachable`, { status: 'unavailable', checks, down });
    ctx.body = { status: 'ready', checks };
  });
  return router;
}

/** OpenAPI description of this router. */
export const healthDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/healthz',
    tag: 'ops',
    summary: 'Liveness: the process is up',
    auth: false,
    response: { status: 200, data: HealthResponse },
    errors: [],
  },
  {
    method: 'get',
    path: '/readyz',
    tag: 'ops',
    summary: 'Readiness: database, Temporal and storage reachable',
    auth: false,
    response: { status: 200, data: ReadyResponse },
    errors: ['UNAVAILABLE'],
  },
];
