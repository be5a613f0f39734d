import Router from '@koa/router';
import type { Credits } from '../../services/credits';
import type { Config } from '../../domain/config';
import { durationMs } from '../../domain/config';
import { issueToken } from '../auth';
import type { RequestState } from '../middleware/envelope';
import { rateLimitByIp } from '../middleware/rateLimit';
import type { RouteDoc } from '../openapi';
import { AnonRequest, AnonResponse } from '../schemas';
import { body } from '../validate';
import { creditsView } from '../views';

/** `POST /auth/anon`: a new anonymous user with the free plan's grant, and its token. */
export function createAuthRouter(deps: { credits: Credits; config: Config }): Router<RequestState> {
  const { config } = deps;
  const router = new Router<RequestState>();
  const limit = rateLimitByIp({
    keyPrefix: 'auth-anon',
    points: config.ANON_RATE_LIMIT,
    durationSeconds: Math.ceil(durationMs(config.ANON_RATE_WINDOW) / 1000),
  });
  router.post('/auth/anon', limit, async (ctx) => {
    body(ctx, AnonRequest);
    const user = await deps.credits.createUser('free');
    ctx.status = 201;
    ctx.body = {
      token: issueToken(config.JWT_SECRET, user.id, config.JWT_TTL_SECONDS),
      token_type: 'Bearer',
      expires_in: config.JWT_TTL_SECONDS,
      user: { id: user.id, plan: user.plan, credits: creditsView(user) },
    };
  });
  return router;
}

/** OpenAPI description of this router. */
export const authDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/auth/anon',
    tag: 'auth',
    summary: 'Create an anonymous user and return a JWT',
    auth: false,
    body: AnonRequest,
    response: { status: 201, data: AnonResponse },
    errors: ['VALIDATION_ERROR', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'RATE_LIMITED'],
  },
];
