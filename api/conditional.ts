/** Conditional GETs: an `ETag` over the answer's data, and 304 Not Modified when the client already has it. */
import { hash } from 'node:crypto';
import type { Context } from 'koa';
import type { RequestState } from './middleware/envelope';

/**
 * Answers `data` with a weak ETag of its JSON, or 304 without a body when `If-None-Match` names it. Phones poll a
 * job every few seconds; most polls find it unchanged, and a 304 saves them the download and the parse. The envelope's
 * request id is outside the hash, so equal data means equal ETags.
 */
export function answerWithEtag(ctx: Context, data: unknown): void {
  const json = JSON.stringify(data);
  const etag = `W/"${hash('sha1', json, 'base64url')}"`;
  ctx.set('ETag', etag);
  ctx.set('Cache-Control', 'private, no-cache');
  if (matches(ctx.get('If-None-Match'), etag)) {
    ctx.status = 304;
    return;
  }
  ctx.body = data;
  // The envelope wraps these bytes instead of serializing the data a second time (a JobView page is ~100 KB).
  (ctx.state as RequestState).serialized = { data, json };
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
