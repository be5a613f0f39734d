/** Entity -> JSON views of the REST contract (snake_case, ISO times). */
import type { z } from 'zod';
import type { Rule } from '../entities/Rule';
import type { User } from '../entities/User';
import type { CreditsView, RuleView } from './schemas';

/** The credits of a user as API.md shows them. */
export function creditsView(user: User): z.infer<typeof CreditsView> {
  return { balance: user.balance, reserved: user.reserved, available: user.balance - user.reserved };
}

/** A saved rule as API.md shows it. */
export function ruleView(rule: Rule): z.input<typeof RuleView> {
  return {
    id: rule.id,
    name: rule.name,
    preset_id: rule.presetId,
    concepts: rule.concepts,
    protect: rule.protect,
    params: rule.params,
    created_at: rule.createdAt.toISOString(),
    updated_at: rule.updatedAt.toISOString(),
  };
}
