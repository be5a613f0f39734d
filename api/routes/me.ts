import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { DataSource } from 'typeorm';
import { planOf } from '../../domain/plans';
import { Rule } from '../../entities/Rule';
import { currentUser } from '../currentUser';
import type { RequestState } from '../middleware/envelope';
import type { RouteDoc } from '../openapi';
import { MeResponse } from '../schemas';
import { creditsView } from '../views';

/** `GET /me`: credits, limits and usage. */
export function createMeRouter(deps: { ds: DataSource; auth: Middleware<RequestState> }): Router<RequestState> {
  const router = new Router<RequestState>();
  router.get('/me', deps.auth, async (ctx) => {
    const user = await currentUser(deps.ds, ctx.state.userId);
    const plan = planOf(user.plan);
    ctx.body = {
      id: user.id,
      plan: user.plan,
      created_at: user.createdAt.toISOString(),
      credits: creditsView(user),
      limits: {
        max_active_jobs: plan.maxActiveJobs,
        active_jobs: user.activeJobs,
        rule_slots: plan.ruleSlots,
        rule_slots_used: await deps.ds.getRepository(Rule).countBy({ userId: user.id }),
        max_items_per_job: plan.maxItemsPerJob,
      },
    };
  });
  return router;
}

/** OpenAPI description of this router. */
export const meDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/me',
    tag: 'me',
    summary: 'My credits, limits and usage',
    auth: true,
    response: { status: 200, data: MeResponse },
    errors: [],
  },
];
