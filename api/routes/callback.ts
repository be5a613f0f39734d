import { createHmac, timingSafeEqual } from 'node:crypto';
import Router from '@koa/router';
import { ActivityCompletionError, ActivityNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { readTaskToken, type TaskTokenRef } from '../../services/taskTokens';
import { jobWorkflowId } from '../../workflows/contract';
import { ApiError, notFound } from '../errors';
import { mapTemporalError, withinDeadline } from '../jobWorkflows';
import type { RequestState } from '../middleware/envelope';
import { z } from 'zod';
import type { RouteDoc } from '../openapi';
import { CallbackRequest, CallbackResponse } from '../schemas';
import { body } from '../validate';

/** Whether `header` is `sha256=<hex HMAC-SHA256 of raw with secret>`, compared in constant time. */
export function verifySignature(secret: string, raw: Buffer, header: string): boolean {
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(raw).digest();
  return timingSafeEqual(expected, Buffer.from(m[1], 'hex'));
}

/**
 * `POST /jobs/{id}/callback`: a serverless GPU provider reports an activity it completed asynchronously (the
 * activity handed its task token to the provider). Authenticated by HMAC, not JWT: the caller is the provider.
 * The token must name the path's job and, while its activity is open, item `idx` (a provider adapter records
 * `{ idx }` in the activity's heartbeat details before it hands the token out); else 404 NOT_FOUND.
 * A duplicate delivery finds the activity already completed and answers 200 without counting it twice.
 */
export function createCallbackRouter(deps: { client: Client; secret: string; callTimeoutMs: number }): Router<RequestState> {
  const router = new Router<RequestState>();
  router.post('/jobs/:id/callback', async (ctx) => {
    const raw = (ctx.request as { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
    if (!verifySignature(deps.secret, raw, ctx.get('X-Signature'))) throw new ApiError('UNAUTHORIZED', 'bad or missing X-Signature');
    const input = body(ctx, CallbackRequest);
    const token = Buffer.from(input.task_token, 'base64');
    const ref = readTaskToken(token);
    if (!ref) throw new ApiError('VALIDATION_ERROR', 'task_token is not a valid task token', { fields: ['task_token'] });
    const matches = () => itemMatches(deps.client, ref, input.idx);
    if (ref.workflowId !== jobWorkflowId(ctx.params.id) || !(await withinDeadline(deps.client, deps.callTimeoutMs, matches)))
      throw notFound('task');
    try {
      await withinDeadline(deps.client, deps.callTimeoutMs, async () => {
        if (input.status === 'done') await deps.client.activity.complete(token, input.result ?? {});
        else
          await deps.client.activity.fail(
            token,
            ApplicationFailure.nonRetryable(input.error?.message ?? 'provider reported a failure', input.error?.code ?? 'PROVIDER_FAILED'),
          );
      });
    } catch (err) {
      if (err instanceof ActivityNotFoundError) {
        ctx.body = { accepted: false, duplicate: true };
        return;
      }
      // The server could not read the bytes as a task token (the SDK reports "Error deserializing task token").
      if (err instanceof ActivityCompletionError && /task token/i.test(err.message)) {
        throw new ApiError('VALIDATION_ERROR', 'task_token is not a valid task token', { fields: ['task_token'] });
      }
      throw mapTemporalError(err);
    }
    ctx.body = { accepted: true, duplicate: false };
  });
  return router;
}

/**
 * Whether the open activity of `ref` carries item `idx` in its heartbeat details. An activity no longer open passes:
 * completing it answers "duplicate" and changes nothing.
 */
async function itemMatches(client: Client, ref: TaskTokenRef, idx: number): Promise<boolean> {
  let pending;
  try {
    pending = (await client.workflow.getHandle(ref.workflowId, ref.runId || undefined).describe()).raw.pendingActivities ?? [];
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return false;
    throw err;
  }
  const activity = pending.find((a) => a.activityId === ref.activityId);
  if (!activity) return true;
  const payload = activity.heartbeatDetails?.payloads?.[0];
  const details = payload ? defaultPayloadConverter.fromPayload<{ idx?: unknown }>(payload) : undefined;
  return details?.idx === idx;
}

/** OpenAPI description of this router. */
export const callbackDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/jobs/:id/callback',
    tag: 'providers',
    auth: false,
    body: CallbackRequest,
    headers: {
      'X-Signature': {
        description: 'sha256=<hex HMAC-SHA256 of the raw body with GPU_CALLBACK_SECRET>',
        required: true,
        schema: z.string(),
      },
    },
    summary: 'Completion report from a serverless GPU provider (HMAC-signed, no JWT)',
    response: { status: 200, data: CallbackResponse },
    errors: ['UNAUTHORIZED', 'NOT_FOUND', 'VALIDATION_ERROR', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE'],
  },
];
