/** Per-client-IP rate limit (used on anonymous sign-up, which grants credits and so attracts abuse). */
import type { Middleware } from 'koa';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError } from '../errors';

/** Allows `points` requests per `durationSeconds` per IP; beyond that 429 RATE_LIMITED with Retry-After. */
export function rateLimitByIp(opts: { points: number; durationSeconds: number; keyPrefix: string }): Middleware {
  // In memory: one API replica's view. Several replicas would share a store (rate-limiter-flexible has MySQL/Redis ones).
  const limiter = new RateLimiterMemory({ points: opts.points, duration: opts.durationSeconds, keyPrefix: opts.keyPrefix });
  return async function rateLimitMiddleware(ctx, next) {
    try {
      await limiter.consume(ctx.ip || 'unknown');
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      const retryAfter = String(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
      throw new ApiError(
        'RATE_LIMITED',
        'too many requests from this address',
        { retry_after_seconds: Number(retryAfter) },
        { 'Retry-After': retryAfter },
      );
    }
    return next();
  };
}
