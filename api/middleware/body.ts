/** JSON bodies: at most 64 KiB, malformed JSON is INVALID_JSON, oversize is PAYLOAD_TOO_LARGE. */
import type { Middleware } from 'koa';
import getRawBody from 'raw-body';
import { ApiError } from '../errors';

/** Largest accepted JSON body (API.md). */
export const MAX_BODY_BYTES = 64 * 1024;

/** Reads a JSON body into `ctx.request.body` (undefined when the request has none) and keeps the raw bytes. */
export function jsonBody(): Middleware {
  return async function jsonBodyMiddleware(ctx, next) {
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(ctx.method)) return next();
    const declared = Number(ctx.get('Content-Length') || '0');
    if (declared > MAX_BODY_BYTES) throw tooLarge();
    let raw: Buffer;
    try {
      raw = await getRawBody(ctx.req, { limit: MAX_BODY_BYTES });
    } catch (err) {
      if ((err as { type?: string }).type === 'entity.too.large') throw tooLarge();
      throw err;
    }
    (ctx.request as { rawBody?: Buffer }).rawBody = raw;
    const text = raw.toString('utf8').trim();
    if (text.length > 0) {
      try {
        (ctx.request as { body?: unknown }).body = JSON.parse(text);
      } catch (err) {
        // Raised when a route reads the body (validate.ts `body`), so authentication — a bearer token, the callback's
        // HMAC over the raw bytes — is checked first and a forged request learns nothing about its JSON.
        (ctx.request as { bodyError?: ApiError }).bodyError = new ApiError('INVALID_JSON', `malformed JSON: ${(err as Error).message}`);
      }
    }
    return next();
  };
}

function tooLarge(): ApiError {
  return new ApiError('PAYLOAD_TOO_LARGE', `body larger than ${MAX_BODY_BYTES} bytes`, { limit: MAX_BODY_BYTES });
}
