/** JWT (HS256) issue and verification. The algorithm is pinned so `alg: none` and RS/HS confusion cannot pass. */
import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Middleware } from 'koa';
import { ApiError } from './errors';
import type { RequestState } from './middleware/envelope';

/** Signs a token for `userId` that expires after `ttlSeconds`. */
export function issueToken(secret: string, userId: string, ttlSeconds: number): string {
  return jwt.sign({}, secret, { algorithm: 'HS256', subject: userId, expiresIn: ttlSeconds });
}

/**
 * Requires `Authorization: Bearer <JWT>` of an existing user; sets `ctx.state.userId` to the token's `sub`.
 * A valid signature is not enough: a token outlives its user row (deleted account), and such a token must not act.
 */
export function requireAuth(secret: string, userExists: (id: string) => Promise<boolean>): Middleware<RequestState> {
  // A KeyObject made once: given a string, jsonwebtoken first tries (and fails, with a thrown error) to read it as a
  // public key on every verify — the costliest step of an authenticated request.
  const key = createSecretKey(Buffer.from(secret));
  return async function requireAuthMiddleware(ctx, next) {
    const m = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(ctx.get('Authorization'));
    if (!m) throw new ApiError('UNAUTHORIZED', 'missing bearer token');
    let sub: unknown;
    try {
      const payload = jwt.verify(m[1], key, { algorithms: ['HS256'] });
      sub = typeof payload === 'object' ? payload.sub : undefined;
      if (typeof payload !== 'object' || payload.exp === undefined) throw new Error('token has no expiry');
    } catch (err) {
      throw new ApiError('UNAUTHORIZED', `invalid token: ${(err as Error).message}`);
    }
    if (typeof sub !== 'string' || sub.length === 0) throw new ApiError('UNAUTHORIZED', 'token has no subject');
    if (!(await userExists(sub))) throw new ApiError('UNAUTHORIZED', 'the user of this token does not exist');
    // Malformed JSON (found by the body parser) is refused on every authenticated route, also on those that take no
    // body (cancel, confirm-upload, DELETE): checked after the token so an anonymous caller learns nothing.
    const malformed = (ctx.request as { bodyError?: Error }).bodyError;
    if (malformed) throw malformed;
    ctx.state.userId = sub;
    ctx.state.log = ctx.state.log.child({ user_id: sub });
    return next();
  };
}
