/**
 * Temporal task tokens as GPU providers carry them: what a token names (read from its bytes, no server call), and
 * the unguessable per-attempt URL token of a provider's webhook, for providers that cannot sign a body (Runpod).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Reader } from 'protobufjs';

/** The activity attempt a task token stands for. */
export interface TaskTokenRef {
  workflowId: string;
  runId: string;
  activityId: string;
  attempt: number;
}

// Field numbers of the server's token message (temporal.server.api.token.v1.Task): the token is opaque to the public
// API, but its layout has been stable since Temporal 1.0 and the check below only reads, never builds, one.
const WORKFLOW_ID = 2;
const RUN_ID = 3;
const ATTEMPT = 5;
const ACTIVITY_ID = 6;

/** What a task token names, or undefined when the bytes are not an activity task token. */
export function readTaskToken(token: Uint8Array): TaskTokenRef | undefined {
  const ref: Partial<TaskTokenRef> = {};
  try {
    const reader = Reader.create(token);
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const field = tag >>> 3;
      if (field === WORKFLOW_ID) ref.workflowId = reader.string();
      else if (field === RUN_ID) ref.runId = reader.string();
      else if (field === ACTIVITY_ID) ref.activityId = reader.string();
      else if (field === ATTEMPT) ref.attempt = reader.int32();
      else reader.skipType(tag & 7);
    }
  } catch {
    return undefined;
  }
  const { workflowId, runId, activityId, attempt } = ref;
  if (!workflowId || !activityId) return undefined;
  return { workflowId, runId: runId ?? '', activityId, attempt: attempt ?? 1 };
}

/** The path of a provider's webhook for one item attempt: `/providers/<provider>/<jobId>/<idx>/<token>.<mac>`. */
export function webhookPath(secret: string, provider: string, jobId: string, idx: number, taskToken: Uint8Array): string {
  const token = Buffer.from(taskToken).toString('base64url');
  return `/providers/${provider}/${jobId}/${idx}/${token}.${webhookMac(secret, provider, jobId, idx, token)}`;
}

/** The task token of a webhook path's last segment when its MAC matches job, item and token; else undefined. */
export function openWebhookToken(secret: string, provider: string, jobId: string, idx: number, segment: string): Buffer | undefined {
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(segment);
  if (!m) return undefined;
  const expected = Buffer.from(webhookMac(secret, provider, jobId, idx, m[1]), 'base64url');
  const given = Buffer.from(m[2], 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return Buffer.from(m[1], 'base64url');
}

// The task token carries the attempt, so the MAC is per attempt: a late webhook of an earlier attempt can only reach
// that attempt's (already closed) activity.
function webhookMac(secret: string, provider: string, jobId: string, idx: number, token: string): string {
  return createHmac('sha256', secret).update(`webhook\n${provider}\n${jobId}\n${idx}\n${token}`).digest('base64url');
}
