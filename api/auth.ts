/** JWT (HS256) issue and verification. The algorithm is pinned so `alg: none` and RS/HS confusion cannot pass. */
import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Middleware } from 'koa';
import { LRUCache } from 'lru-cache';
import { ApiError } from './errors';
import type { RequestState } from './middleware/envelope';

/** Verified tokens remembered at most (~200 bytes each). */
const VERIFIED_TOKENS = 10_000;

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
  // Tokens whose signature and claims checked out, until their expiry: a phone polls with the same token every few
  // seconds, and verifying it again is the same HMAC with the same answer. Whether the user still exists is asked
  // on every request all the same.
  const verified = new LRUCache<string, { sub: string; expMs: number }>({ max: VERIFIED_TOKENS });
  const subjectOf = (token: string): string => {
    const hit = verified.get(token);
    if (hit && Date.now() < hit.expMs) return hit.sub;
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, key, { algorithms: ['HS256'] });
      if (typeof payload !== 'object' || payload.exp === undefined) throw new Error('token has no expiry');
    } catch (err) {
      throw new ApiError('UNAUTHORIZED', `invalid token: ${(err as Error).message}`);
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub.length === 0) throw new ApiError('UNAUTHORIZED', 'token has no subject');
    verified.set(token, { sub, expMs: payload.exp * 1000 });
    return sub;
  };
  return async function requireAuthMiddleware(ctx, next) {
    const m = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(ctx.get('Authorization'));
    if (!m) throw new ApiError('UNAUTHORIZED', 'missing bearer token');
    const sub = subjectOf(m[1]);
    if (!(await userExists(sub))) throw new ApiError('UNAUTHORIZED', 'the user of this token does not exist');
    // Malformed JSON (found by the body parser) is refused on every authenticated route, also on those that take no
    // body (cancel, confirm-upload, DELETE): checked after the token so an anonymous caller learns nothing.
    const malformed = (ctx.request as { bodyError?: Error }).bodyError;
    if (malformed) throw malformed;
    ctx.state.userId = sub; // the request's logger binds it (envelope)
    return next();
  };
}
