/**
 * The top of the stack: request id, the response envelope, and the one place errors become HTTP answers.
 * Routes set `ctx.body` to their data (and `ctx.status`); this wraps it as `{ success, data, error, meta }`.
 */
import { randomFillSync } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { isClientAbort } from '../clientAborts';
import { dependencyUnavailable, isDependencyDown } from '../dependencyErrors';
import { ApiError } from '../errors';

/** State every request carries. */
export interface RequestState {
  requestId: string;
  userId?: string;
  log: Logger;
  /** Set by routes that stream (SSE) so the envelope leaves their body alone. */
  raw?: boolean;
  /** Set when the client broke the connection before the answer (counted apart from server errors). */
  clientAborted?: boolean;
  /** Set with `ctx.body` to it by a route that serialized its data already (to tag it): its JSON is wrapped as is. */
  serialized?: { head: Buffer };
}

/**
 * A successful envelope up to its request id, UTF-8 encoded, around data serialized already: with
 * `envelopeTail(requestId)` after it, the bytes of `{ success: true, data, error: null, meta: { request_id } }`.
 */
export function envelopeHead(json: string): Buffer {
  return Buffer.from(`{"success":true,"data":${json},"error":null,"meta":{"request_id":`);
}

function envelopeTail(requestId: string): Buffer {
  return Buffer.from(`${JSON.stringify(requestId)}}}`);
}

const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

// uuid draws 16 random bytes through WebCrypto for every id (a few % of a cheap GET); one draw of 4 KiB serves 256.
const randomPool = Buffer.alloc(4096);
let poolAt = randomPool.length;
function newRequestId(): string {
  if (poolAt + 16 > randomPool.length) {
    randomFillSync(randomPool);
    poolAt = 0;
  }
  poolAt += 16;
  return uuidv7({ random: randomPool.subarray(poolAt - 16, poolAt) });
}

/** Assigns the request id (echoing a sane client one), wraps responses, and maps errors in one place. */
export function envelope(opts: { log: Logger }): Middleware<RequestState> {
  return async function envelopeMiddleware(ctx, next) {
    const given = ctx.get('X-Request-Id');
    const requestId = CLIENT_REQUEST_ID.test(given) ? given : newRequestId();
    ctx.state.requestId = requestId;
    // The request's logger is made when something logs, not on every request (a child logger per request was a
    // measurable share of a cheap GET); it carries the user once authentication has set one.
    let log: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', {
      configurable: true,
      enumerable: true,
      get: () => (log ??= opts.log.child({ request_id: requestId, ...(ctx.state.userId ? { user_id: ctx.state.userId } : {}) })),
      set: (value: Logger) => {
        log = value;
      },
    });
    ctx.set('X-Request-Id', requestId);
    const meta = { request_id: requestId };
    const started = process.hrtime.bigint();
    try {
      await next();
      if (ctx.state.raw) return;
      if (ctx.status === 404 && ctx.body === undefined) throw new ApiError('NOT_FOUND', `no route for ${ctx.method} ${ctx.path}`);
      // The routers answer a method a path does not take with 405, and one no route takes at all (PROPFIND, TRACE…)
      // with 501, both with an Allow header and no body: one client error either way, never a 500.
      if ((ctx.status === 405 || ctx.status === 501) && ctx.body === undefined) {
        throw new ApiError('METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on ${ctx.path}`);
      }
      const { serialized } = ctx.state;
      if (serialized && ctx.body === serialized) {
        ctx.type = 'application/json';
        const tail = envelopeTail(requestId);
        if (ctx.method === 'HEAD') ctx.body = Buffer.concat([serialized.head, tail]);
        else {
          // The cached head goes to the socket as it is, beside the request id: no copy or encoding of the page per
          // request (a copy of every answer was what kept the garbage collector busy under polling).
          ctx.length = serialized.head.length + tail.length;
          ctx.respond = false;
          ctx.res.write(serialized.head);
          ctx.res.end(tail);
        }
      } else if (ctx.body !== undefined && !Buffer.isBuffer(ctx.body) && typeof ctx.body !== 'string') {
        ctx.body = { success: true, data: ctx.body, error: null, meta };
      }
    } catch (err) {
      if (isClientAbort(err)) {
        // Nobody is listening for an answer: note it, and leave the socket to Node.
        ctx.state.clientAborted = true;
        ctx.state.log.info(
          { method: ctx.method, path: loggedPath(ctx.path), code: (err as { code?: string }).code },
          'client aborted the request',
        );
        ctx.status = 400;
        ctx.body = null;
        return;
      }
      const e = toApiError(err);
      // An outage (503) is reported by /readyz and the dependency's own alerts; a 500 is a bug of ours.
      if (e.status === 503) ctx.state.log.warn({ err }, 'request failed: dependency unavailable');
      else if (e.status >= 500) ctx.state.log.error({ err }, 'request failed');
      ctx.status = e.status;
      for (const [k, v] of Object.entries(e.headers ?? {})) ctx.set(k, v);
      ctx.body = { success: false, data: null, error: { code: e.code, message: e.message, details: e.details ?? {} }, meta };
    }
    const ms = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
    const who = { request_id: requestId, ...(ctx.state.userId ? { user_id: ctx.state.userId } : {}) };
    opts.log.info({ ...who, method: ctx.method, path: loggedPath(ctx.path), status: ctx.status, ms }, 'request');
  };
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isDependencyDown(err)) return dependencyUnavailable();
  const status = (err as { status?: number })?.status;
  // Errors thrown by Koa/router themselves (405 from allowedMethods, 404…) carry a status; keep it, hide internals.
  if (status === 405) return new ApiError('METHOD_NOT_ALLOWED', (err as Error).message);
  if (status === 404) return new ApiError('NOT_FOUND', 'not found');
  return new ApiError('INTERNAL', 'internal error');
}

/**
 * The path as logged. A provider webhook's last segment is its credential (an unguessable per-attempt token,
 * API.md endpoint 14): whoever reads the logs must not be able to complete the item with it.
 */
export function loggedPath(path: string): string {
  return path.startsWith('/providers/') ? path.replace(/\/[^/]*$/, '/<token>') : path;
}
