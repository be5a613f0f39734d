import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { DataSource } from 'typeorm';
import { v7 as uuidv7 } from 'uuid';
import { lockUser } from '../../services/credits';
import { inTransaction } from '../../services/transaction';
import { planOf } from '../../domain/plans';
import { findPreset } from '../../domain/presets';
import { checkRuleAgainstPreset, type RuleParams } from '../../domain/ruleParams';
import { Rule } from '../../entities/Rule';
import { ApiError, notFound } from '../errors';
import type { RequestState } from '../middleware/envelope';
import { z } from 'zod';
import type { RouteDoc } from '../openapi';
import { CreateRuleRequest, DeletedResponse, RuleView, UpdateRuleRequest } from '../schemas';
import { body, validationError } from '../validate';
import { ruleView } from '../views';
import { currentUser } from '../currentUser';

/** Checks a rule's concepts/protect/operations against its preset: 404 for an unknown preset, else 400 per problem. */
export function assertRuleFitsPreset(presetId: string, concepts: string[], protect: string[], params?: RuleParams): void {
  const preset = findPreset(presetId);
  if (!preset) throw notFound(`preset '${presetId}'`);
  const issues = checkRuleAgainstPreset(preset, concepts, protect, params);
  if (issues.length) throw validationError(issues);
}

/** Rules CRUD (`/rules`, `/rules/{id}`), bounded by the plan's rule slots. */
export function createRulesRouter(deps: { ds: DataSource; auth: Middleware<RequestState> }): Router<RequestState> {
  const { ds } = deps;
  const rules = ds.getRepository(Rule);
  const router = new Router<RequestState>();

  async function ownRule(userId: string | undefined, id: string): Promise<Rule> {
    const rule = await rules.findOneBy({ id, userId: userId ?? '' });
    if (!rule) throw notFound(`rule '${id}'`);
    return rule;
  }

  router.get('/rules', deps.auth, async (ctx) => {
    const list = await rules.find({ where: { userId: ctx.state.userId }, order: { id: 'DESC' } });
    ctx.body = list.map(ruleView);
  });

  router.get('/rules/:id', deps.auth, async (ctx) => {
    ctx.body = ruleView(await ownRule(ctx.state.userId, ctx.params.id));
  });

  router.post('/rules', deps.auth, async (ctx) => {
    const input = body(ctx, CreateRuleRequest);
    assertRuleFitsPreset(input.preset_id, input.concepts, input.protect, input.params);
    const user = await currentUser(ds, ctx.state.userId);
    const now = new Date();
    const rule = await inTransaction(ds, async (m) => {
      await lockUser(m, user.id);
      const used = await m.countBy(Rule, { userId: user.id });
      const slots = planOf(user.plan).ruleSlots;
      if (used >= slots) {
        throw new ApiError('RULE_SLOTS_EXHAUSTED', `all ${slots} rule slots of the ${user.plan} plan are used`, {
          rule_slots: slots,
          rule_slots_used: used,
        });
      }
      const created = m.create(Rule, {
        id: uuidv7(),
        userId: user.id,
        name: input.name,
        presetId: input.preset_id,
        concepts: input.concepts,
        protect: input.protect,
        params: input.params,
        createdAt: now,
        updatedAt: now,
      });
      await m.insert(Rule, created);
      return created;
    });
    ctx.status = 201;
    ctx.body = ruleView(rule);
  });

  router.patch('/rules/:id', deps.auth, async (ctx) => {
    const input = body(ctx, UpdateRuleRequest);
    if (Object.keys(input).length === 0) throw validationError([{ path: [], message: 'at least one field is required' }]);
    const rule = await ownRule(ctx.state.userId, ctx.params.id);
    const next = {
      name: input.name ?? rule.name,
      presetId: input.preset_id ?? rule.presetId,
      concepts: input.concepts ?? rule.concepts,
      protect: input.protect ?? rule.protect,
      params: input.params ?? rule.params,
    };
    assertRuleFitsPreset(next.presetId, next.concepts, next.protect, next.params);
    // A timestamp that never goes backwards, even when two updates land within the same millisecond.
    const updatedAt = new Date(Math.max(Date.now(), rule.updatedAt.getTime() + 1));
    await rules.update({ id: rule.id }, { ...next, updatedAt });
    ctx.body = ruleView(Object.assign(rule, next, { updatedAt }));
  });

  router.delete('/rules/:id', deps.auth, async (ctx) => {
    const rule = await ownRule(ctx.state.userId, ctx.params.id);
    await rules.delete({ id: rule.id });
    ctx.body = { deleted: true };
  });

  return router;
}

const bodyErrors = ['VALIDATION_ERROR', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE'] as const;
/** OpenAPI description of this router. */
export const rulesDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/rules',
    tag: 'rules',
    summary: 'My saved rules, newest first',
    auth: true,
    response: { status: 200, data: z.array(RuleView) },
    errors: [],
  },
  {
    method: 'post',
    path: '/rules',
    tag: 'rules',
    summary: 'Save a rule (uses a rule slot)',
    auth: true,
    body: CreateRuleRequest,
    response: { status: 201, data: RuleView },
    errors: [...bodyErrors, 'NOT_FOUND', 'RULE_SLOTS_EXHAUSTED'],
  },
  {
    method: 'get',
    path: '/rules/:id',
    tag: 'rules',
    summary: 'One rule',
    auth: true,
    response: { status: 200, data: RuleView },
    errors: ['NOT_FOUND'],
  },
  {
    method: 'patch',
    path: '/rules/:id',
    tag: 'rules',
    summary: 'Change a rule',
    auth: true,
    body: UpdateRuleRequest,
    response: { status: 200, data: RuleView },
    errors: [...bodyErrors, 'NOT_FOUND'],
  },
  {
    method: 'delete',
    path: '/rules/:id',
    tag: 'rules',
    summary: 'Delete a rule (frees its slot)',
    auth: true,
    response: { status: 200, data: DeletedResponse },
    errors: ['NOT_FOUND'],
  },
];
