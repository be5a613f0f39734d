/**
 * Variants for the workflow tests and scripts/record-histories.ts: created the way POST /jobs/{id}/variants does it
 * (job_variants_log row with every item pending, then Update-with-Start of `reserveVariant`), on the job harness's
 * workers. No job is needed: the variant workflow only reads its input, and the stub applyRule makes fake keys.
 */
import { WithStartWorkflowOperation, type WorkflowHandle } from '@temporalio/client';
import { v7 as uuidv7 } from 'uuid';
import type { ReserveResult } from '../../domain/jobData';
import { PLANS, variantCost } from '../../domain/plans';
import { inputKey, maskKey } from '../../domain/storageKeys';
import { JobVariantLog } from '../../entities/JobVariantLog';
import { VARIANT_WORKFLOW_TYPE, reserveVariantUpdate, variantWorkflowId, type VariantInput } from '../../workflows/variantContract';
import type { variantWorkflow } from '../../workflows/variantWorkflow';
import type { Harness, StubPlan } from './harness';

/** Options of a test variant. */
export interface VariantOptions {
  itemCount?: number;
  /** Credits granted to the variant's user (default: what the variant costs). */
  credits?: number;
  maxInFlight?: number;
  plan?: StubPlan;
}

/** A variant created the way the API does it. */
export interface TestVariant {
  input: VariantInput;
  reserve: ReserveResult;
  handle: WorkflowHandle<typeof variantWorkflow>;
}

/** The rule the test variants render. */
export const VARIANT_RULE = {
  params: { operations: [{ concept: 'wall', op: 'recolor' as const, color: '#C0603A', strength: 1 }], feather_px: 0 },
};

/** Creates a studio user with credits, the variant's mirror row, then Update-with-Start of `reserveVariant`. */
export async function createVariant(h: Harness, opts: VariantOptions = {}): Promise<TestVariant> {
  const itemCount = opts.itemCount ?? 3;
  const plan = PLANS.studio;
  const amount = variantCost(plan, itemCount);
  const user = await h.credits.createUser('studio');
  if (opts.credits !== 0) await h.credits.grant(user.id, opts.credits ?? amount, `test:${user.id}`);
  const jobId = uuidv7();
  if (opts.plan) h.gpu.plans.set(jobId, opts.plan);
  const idxs = Array.from({ length: itemCount }, (_, idx) => idx);
  const input: VariantInput = {
    jobId,
    userId: user.id,
    presetId: 'interior',
    n: 1,
    items: idxs.map((idx) => ({
      item: { userId: user.id, jobId, idx, inputKey: inputKey(user.id, jobId, idx, 'image/jpeg') },
      masks: { wall: maskKey(user.id, jobId, idx, 'wall'), person: maskKey(user.id, jobId, idx, 'person') },
    })),
    concepts: ['wall'],
    protect: ['person'],
    rule: VARIANT_RULE,
    outputFormat: 'png',
    amount,
    itemsPerCredit: plan.variantItemsPerCredit,
    cpuTaskQueue: h.cpuTaskQueue,
    maxInFlight: opts.maxInFlight ?? 2,
  };
  const now = new Date();
  await h.db.ds.getRepository(JobVariantLog).insert({
    jobId,
    n: input.n,
    userId: user.id,
    status: 'queued',
    rule: input.rule,
    outputFormat: input.outputFormat,
    idempotencyKey: null,
    requestHash: 'test',
    items: idxs.map((idx) => ({ idx, status: 'pending' as const })),
    creditsReserved: 0,
    creditsCharged: 0,
    creditsRefunded: 0,
    errorCode: null,
    errorMessage: null,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
  });
  const op = new WithStartWorkflowOperation(VARIANT_WORKFLOW_TYPE, {
    workflowId: variantWorkflowId(jobId, input.n),
    taskQueue: h.taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'FAIL',
  });
  const reserve = await h.env.client.workflow.executeUpdateWithStart(reserveVariantUpdate, { startWorkflowOperation: op });
  const handle = (await op.workflowHandle()) as WorkflowHandle<typeof variantWorkflow>;
  return { input, reserve, handle };
}
