/** Plans and pricing: what each plan grants and allows. */

/** The limits and grants of one plan. */
export interface Plan {
  id: PlanId;
  /** Credits granted when an account on this plan is created. */
  signupCredits: number;
  /** Credits one item of a job costs. */
  unitCost: number;
  maxActiveJobs: number;
  ruleSlots: number;
  maxItemsPerJob: number;
}

/** The plan ids, cheapest first. */
export type PlanId = 'free' | 'pro' | 'studio';

/** Every plan by id. */
export const PLANS: Readonly<Record<PlanId, Plan>> = {
  free: { id: 'free', signupCredits: 100, unitCost: 1, maxActiveJobs: 2, ruleSlots: 3, maxItemsPerJob: 50 },
  pro: { id: 'pro', signupCredits: 0, unitCost: 1, maxActiveJobs: 5, ruleSlots: 20, maxItemsPerJob: 200 },
  studio: { id: 'studio', signupCredits: 0, unitCost: 1, maxActiveJobs: 10, ruleSlots: 100, maxItemsPerJob: 500 },
};

/** The plan of this id; unknown ids (a plan retired from the code) fall back to free's limits. */
export function planOf(id: string): Plan {
  return PLANS[id as PlanId] ?? PLANS.free;
}

/** Credits a job of `itemCount` items reserves on `plan`. */
export function jobCost(plan: Plan, itemCount: number): number {
  return plan.unitCost * itemCount;
}
