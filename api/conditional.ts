/** Conditional GETs: an `ETag` over the answer's data, and 304 Not Modified when the client already has it. */
import { hash } from 'node:crypto';
import type { Context } from 'koa';
import { envelopeHead, type RequestState } from './middleware/envelope';

/**
 * A JSON answer serialized once, with the weak ETag of those bytes: `head` is the whole envelope up to its request id
 * (envelopeHead), UTF-8 encoded, so an answer served again costs no serialization
 * or encoding, only its request id.
 */
export interface SerializedAnswer {
  head: Buffer;
  etag: string;
}

/** Serializes `data` and tags it (the envelope's request id is outside the hash: equal data, equal ETags). */
export function serialized(data: unknown): SerializedAnswer {
  const json = JSON.stringify(data);
  return {
    head: envelopeHead(json),
    etag: `W/"${hash('sha1', json, 'base64url')}"`,
  };
}

/**
 * Answers with the ETag, or 304 without a body when `If-None-Match` names it. Phones poll a job every few seconds;
 * most polls find it unchanged, and a 304 saves them the download and the parse.
 */
export function answerWithEtag(ctx: Context, answer: SerializedAnswer): void {
  ctx.set('ETag', answer.etag);
  ctx.set('Cache-Control', 'private, no-cache');
  if (matches(ctx.get('If-None-Match'), answer.etag)) {
    ctx.status = 304;
    return;
  }
  // The envelope wraps these bytes instead of serializing the data again (a JobView page is up to ~250 KB).
  ctx.body = answer;
  (ctx.state as RequestState).serialized = answer;
}

/**
 * Weak comparison of If-None-Match against our ETag (RFC 9110 §13.1.2). Not Koa's `ctx.fresh`: it treats a request's
 * `Cache-Control: no-cache` as a forced reload, and fetch() adds that header to every conditional request.
 */
function matches(ifNoneMatch: string, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => opaque(tag) === opaque(etag));
}
