/** Conditional GETs: an `ETag` over the answer's data, and 304 Not Modified when the client already has it. */
import { createHash } from 'node:crypto';
import type { Context } from 'koa';

/**
 * Answers `data` with a weak ETag of its JSON, or 304 without a body when `If-None-Match` names it. Phones poll a
 * job every few seconds; most polls find it unchanged, and a 304 saves them the download and the parse. The envelope's
 * request id is outside the hash, so equal data means equal ETags.
 */
export function answerWithEtag(ctx: Context, data: unknown): void {
  const etag = `W/"${createHash('sha1').update(JSON.stringify(data)).digest('base64url')}"`;
  ctx.set('ETag', etag);
  ctx.set('Cache-Control', 'private, no-cache');
  if (matches(ctx.get('If-None-Match'), etag)) {
    ctx.status = 304;
    return;
  }
  ctx.body = data;
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
