/**
 * Webhooks of GPU providers that cannot sign a body (API.md endpoint 14, notes). Runpod POSTs a finished job's
 * `/status` document to the URL given at `/run`; that URL carries the item's task token and an HMAC of job, item
 * and token (so of the attempt), checked in constant time. Runpod retries a failed delivery twice, 10 s apart, and
 * the dispatcher polls `/status` anyway: a 5xx here only delays the item, and a repeat changes nothing.
 */
import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import { RunpodJob, settleJob } from '../../services/runpodJobs';
import { openWebhookToken } from '../../services/taskTokens';
import { ApiError } from '../errors';
import { withinDeadline } from '../jobWorkflows';
import type { RequestState } from '../middleware/envelope';
import type { RouteDoc } from '../openapi';
import { CallbackResponse } from '../schemas';
import { body } from '../validate';

const PATH = '/providers/runpod/:jobId/:idx/:token';

/** Routes under `/providers/`: the Runpod webhook. */
export function createProvidersRouter(deps: { client: Client; secret: string; callTimeoutMs: number }): Router<RequestState> {
  const router = new Router<RequestState>();
  router.post(PATH, async (ctx) => {
    const { jobId, idx, token } = ctx.params as Record<string, string>;
    const item = /^\d{1,9}$/.test(idx) ? Number(idx) : -1;
    const taskToken = item >= 0 ? openWebhookToken(deps.secret, 'runpod', jobId, item, token) : undefined;
    // Same answer as an unknown URL: a guessed or altered token learns nothing.
    if (!taskToken) throw new ApiError('NOT_FOUND', 'no such webhook');
    const job = body(ctx, RunpodJob);
    const outcome = await withinDeadline(deps.client, deps.callTimeoutMs, () => settleJob(deps.client.activity, taskToken, job));
    ctx.body = { accepted: outcome === 'completed' || outcome === 'failed', duplicate: outcome === 'duplicate' };
  });
  return router;
}

/** OpenAPI description of this router. */
export const providersDocs: RouteDoc[] = [
  {
    method: 'post',
    path: PATH,
    tag: 'providers',
    auth: false,
    body: RunpodJob,
    summary:
      'Runpod webhook: a job finished (its /status document). Authenticated by the per-attempt token in the URL; ' +
      'accepted=false while the job is not finished (or was CANCELLED: the dispatcher decides), duplicate=true when ' +
      'the item was already settled',
    response: { status: 200, data: CallbackResponse },
    errors: ['NOT_FOUND', 'VALIDATION_ERROR', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE'],
  },
];
