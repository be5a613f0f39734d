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
  /** Variants (compare renders) a job may have. */
  maxVariantsPerJob: number;
  /** Done items one credit of a variant pays for (a variant skips segmentation, so it costs a fraction of a job). */
  variantItemsPerCredit: number;
}

/** The plan ids, cheapest first. */
export type PlanId = 'free' | 'pro' | 'studio';

/** Every plan by id. */
export const PLANS: Readonly<Record<PlanId, Plan>> = {
  free: {
    id: 'free',
    signupCredits: 100,
    unitCost: 1,
    maxActiveJobs: 2,
    ruleSlots: 3,
    maxItemsPerJob: 50,
    maxVariantsPerJob: 3,
    variantItemsPerCredit: 4,
  },
  pro: {
    id: 'pro',
    signupCredits: 0,
    unitCost: 1,
    maxActiveJobs: 5,
    ruleSlots: 20,
    maxItemsPerJob: 200,
    maxVariantsPerJob: 10,
    variantItemsPerCredit: 4,
  },
  studio: {
    id: 'studio',
    signupCredits: 0,
    unitCost: 1,
    maxActiveJobs: 10,
    ruleSlots: 100,
    maxItemsPerJob: 500,
    maxVariantsPerJob: 20,
    variantItemsPerCredit: 4,
  },
};

/** The plan of this id; unknown ids (a plan retired from the code) fall back to free's limits. */
export function planOf(id: string): Plan {
  return PLANS[id as PlanId] ?? PLANS.free;
}

/** Credits a job of `itemCount` items reserves on `plan`. */
export function jobCost(plan: Plan, itemCount: number): number {
  return plan.unitCost * itemCount;
}

/** Credits a variant over `doneItems` rendered items costs on `plan` (API.md §17: ceil(done_items / 4)). */
export function variantCost(plan: Plan, doneItems: number): number {
  return Math.ceil(doneItems / plan.variantItemsPerCredit);
}
