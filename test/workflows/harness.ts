/**
 * What the workflow tests and scripts/record-histories.ts share: a Temporal environment on the run's dev server, an
 * orchestration worker with the real job activities on a test DB, stub GPU activities on their own task queue, and
 * a way to create a job the way the API does (jobs_log row, then Update-with-Start of `reserve`).
 */
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { v7 as uuidv7 } from 'uuid';
import { createCredits, type Credits } from '../../services/credits';
import { createOrchestrationWorker } from '../../activities/worker';
import { parseConfig } from '../../domain/config';
import { createStorage, type Storage } from '../../services/storage';
import type { ApplyRuleInput } from '../../activities/contract';
import type { GpuActivities, SegmentInput } from '../../gpu-activities/contract';
import type { CpuActivities } from '../../activities/contract';
import { maskKey, previewKey, resultKey } from '../../domain/storageKeys';
import { JobLog } from '../../entities/JobLog';
import { createTestDatabase, type TestDatabase } from '../support/databases';
import {
  JOB_SEARCH_ATTRIBUTES,
  JOB_WORKFLOW_TYPE,
  jobWorkflowId,
  reserveUpdate,
  type ExecuteInput,
  type JobInput,
} from '../../workflows/contract';
import type { ReserveResult } from '../../domain/jobData';
import type { jobWorkflow } from '../../workflows/jobWorkflow';
import { JOB_STATUS_KEY, PRESET_ID_KEY, USER_ID_KEY } from '../../workflows/searchAttributes';

/** How the stub GPU activities treat one job's items (a variant's: the stub applyRule, keyed by the job id). */
export interface StubPlan {
  /** `segment` throws a non-retryable INVALID_IMAGE for these indexes. */
  invalid?: number[];
  /** `segment` heartbeats until canceled for these indexes. */
  hang?: number[];
  /** `segment`'s first attempt goes silent (no heartbeat, as on a killed GPU worker) for these indexes. */
  stallFirstAttempt?: number[];
  /** `segment` (a variant's applyRule) takes this long for every item (a GPU or CPU fleet that sets the pace). */
  delayMs?: number;
}

/** Stub GPU activities (deterministic fake keys and checks) and what they saw, per job. */
export function createStubGpu() {
  const plans = new Map<string, StubPlan>();
  const started = new Map<string, number[]>();
  const canceled = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, jobId: string, idx: number) => m.set(jobId, [...(m.get(jobId) ?? []), idx]);
  const hang = async (jobId: string, idx: number) => {
    try {
      for (;;) {
        Context.current().heartbeat();
        await Context.current().sleep(50); // rejects with CancelledFailure once the cancel reaches us
      }
    } catch (err) {
      push(canceled, jobId, idx);
      throw err;
    }
  };
  const activities: GpuActivities & CpuActivities = {
    async segment({ item, concepts, protect }: SegmentInput) {
      push(started, item.jobId, item.idx);
      const plan = plans.get(item.jobId) ?? {};
      if (plan.invalid?.includes(item.idx)) throw ApplicationFailure.nonRetryable('not a decodable image', 'INVALID_IMAGE');
      if (plan.delayMs) await Context.current().sleep(plan.delayMs);
      if (plan.stallFirstAttempt?.includes(item.idx) && Context.current().info.attempt === 1) {
        await Context.current().sleep(30_000); // the heartbeat timeout expires first; this attempt's result is ignored
      }
      if (plan.hang?.includes(item.idx)) await hang(item.jobId, item.idx);
      const ids = [...concepts, ...protect].map((c) => c.id);
      return {
        width: 64,
        height: 48,
        masks: Object.fromEntries(ids.map((id) => [id, maskKey(item.userId, item.jobId, item.idx, id)])),
        coverage: Object.fromEntries(ids.map((id) => [id, 0.25])),
      };
    },
    async applyRule({ item, concepts, variant }: ApplyRuleInput) {
      // A variant runs applyRule alone (no segment): the plan applies here instead.
      if (variant) {
        push(started, item.jobId, item.idx);
        const plan = plans.get(item.jobId) ?? {};
        if (plan.invalid?.includes(item.idx)) throw ApplicationFailure.nonRetryable('not a decodable image', 'INVALID_IMAGE');
        if (plan.hang?.includes(item.idx)) await hang(item.jobId, item.idx);
        if (plan.delayMs) await Context.current().sleep(plan.delayMs);
      }
      return {
        resultKey: resultKey(item.userId, item.jobId, item.idx, 'png', variant),
        previewKey: previewKey(item.userId, item.jobId, item.idx, variant),
        checks: {
          protected_changed_px: 0,
          delta_e_to_target: Object.fromEntries(concepts.map((c) => [c, 1.5])),
          coverage: Object.fromEntries(concepts.map((c) => [c, 0.25])),
        },
      };
    },
  };
  return { activities, plans, started, canceled };
}

/**
 * The run's Temporal: the dev server the global setup started (TEMPORAL_ADDRESS), else one started here from the
 * project's CLI. Registers the job search attributes idempotently (the dev server keeps them per db file).
 */
export async function createTestEnv(): Promise<TestWorkflowEnvironment> {
  const address = process.env.TEMPORAL_ADDRESS;
  const env = address
    ? await TestWorkflowEnvironment.createFromExistingServer({ address, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' })
    : await TestWorkflowEnvironment.createLocal({
        server: {
          executable: {
            type: 'existing-path',
            path: process.env.TEMPORAL_CLI_PATH ?? path.resolve(__dirname, '../../.tools/bin/temporal'),
          },
          searchAttributes: [USER_ID_KEY, PRESET_ID_KEY, JOB_STATUS_KEY],
        },
      });
  await ensureSearchAttributes(env);
  return env;
}

async function ensureSearchAttributes(env: TestWorkflowEnvironment): Promise<void> {
  const { operatorService } = env.connection;
  const namespace = env.namespace ?? 'default';
  const names = Object.values(JOB_SEARCH_ATTRIBUTES);
  const missing = async () => {
    const have = (await operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
    return names.filter((n) => !(n in have));
  };
  const toAdd = await missing();
  if (toAdd.length === 0) return;
  const KEYWORD = 2; // temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
  try {
    await operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(toAdd.map((n) => [n, KEYWORD])) });
  } catch (err) {
    if (!/already exists/i.test(String(err))) throw err; // another suite registered them first
  }
  await eventually(async () => (await missing()).length === 0);
}

/** A running pair of workers (orchestration + stub GPU) on unique task queues, with a test DB. */
export interface Harness {
  env: TestWorkflowEnvironment;
  db: TestDatabase & { drop(): Promise<void> };
  credits: Credits;
  /** The real store the orchestration worker seals uploads in. */
  storage: Storage;
  gpu: ReturnType<typeof createStubGpu>;
  taskQueue: string;
  gpuTaskQueue: string;
  cpuTaskQueue: string;
  stop(): Promise<void>;
}

/** Bundles the workflows once and starts both workers; `stop()` shuts them down and drops the DB. */
export async function startHarness(env: TestWorkflowEnvironment, bundle?: WorkflowBundleWithSourceMap): Promise<Harness> {
  const db = await createTestDatabase('sqlite');
  const credits = createCredits(db.ds);
  // The real store of the test run (globalSetup): the seal of a canceled job's uploads writes there.
  const storage = createStorage(parseConfig(process.env));
  const gpu = createStubGpu();
  const suffix = uuidv7();
  const taskQueue = `jobs-${suffix}`;
  const gpuTaskQueue = `gpu-${suffix}`;
  const cpuTaskQueue = `cpu-${suffix}`;
  const workflowBundle = bundle ?? (await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietLogger }));
  const orchestration = await createOrchestrationWorker({
    connection: env.nativeConnection,
    namespace: env.namespace,
    taskQueue,
    ds: db.ds,
    credits,
    storage,
    workflowBundle,
  });
  // A short heartbeat throttle so a cancel reaches a hanging stub in well under a second (the default is 0.8 × the
  // heartbeat timeout, 16 s here); GPU workers should do the same.
  const stubWorker = (taskQueue: string, activities: object) =>
    Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace,
      taskQueue,
      activities,
      maxHeartbeatThrottleInterval: '200ms',
      defaultHeartbeatThrottleInterval: '200ms',
    });
  const gpuWorker = await stubWorker(gpuTaskQueue, { segment: gpu.activities.segment });
  const cpuWorker = await stubWorker(cpuTaskQueue, { applyRule: gpu.activities.applyRule });
  const running = Promise.all([orchestration.run(), gpuWorker.run(), cpuWorker.run()]);
  return {
    env,
    db,
    credits,
    storage,
    gpu,
    taskQueue,
    gpuTaskQueue,
    cpuTaskQueue,
    async stop() {
      orchestration.shutdown();
      gpuWorker.shutdown();
      cpuWorker.shutdown();
      await running;
      storage.destroy();
      await db.drop();
    },
  };
}

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/** Options of a test job. */
export interface JobOptions {
  itemCount?: number;
  credits?: number;
  uploadTimeout?: string;
  maxInFlight?: number;
  plan?: StubPlan;
  /** Use this user id instead of creating a user (e.g. one that does not exist). */
  userId?: string;
}

/** A job created the way the API does it. */
export interface TestJob {
  input: JobInput;
  reserve: ReserveResult;
  handle: WorkflowHandle<typeof jobWorkflow>;
}

/** Creates a user with `credits`, inserts the jobs_log row, then Update-with-Start of `reserve` (as POST /jobs). */
export async function createJob(h: Harness, opts: JobOptions = {}): Promise<TestJob> {
  const itemCount = opts.itemCount ?? 3;
  const user = opts.userId ? { id: opts.userId } : await h.credits.createUser('studio');
  if (!opts.userId && opts.credits !== 0) await h.credits.grant(user.id, opts.credits ?? itemCount, `test:${user.id}`);
  const jobId = uuidv7();
  if (opts.plan) h.gpu.plans.set(jobId, opts.plan);
  const input: JobInput = {
    jobId,
    userId: user.id,
    presetId: 'interior',
    itemCount,
    contentType: 'image/jpeg',
    unitCost: 1,
    uploadTimeout: opts.uploadTimeout ?? '1h',
    gpuTaskQueue: h.gpuTaskQueue,
    cpuTaskQueue: h.cpuTaskQueue,
    maxInFlight: opts.maxInFlight ?? 2,
  };
  const now = new Date();
  await h.db.ds.getRepository(JobLog).insert({
    id: jobId,
    userId: user.id,
    presetId: input.presetId,
    status: 'created',
    itemCount,
    contentType: input.contentType,
    idempotencyKey: null,
    requestHash: null,
    createdAt: now,
    updatedAt: now,
  });
  const op = new WithStartWorkflowOperation(JOB_WORKFLOW_TYPE, {
    workflowId: jobWorkflowId(jobId),
    taskQueue: h.taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'FAIL',
  });
  const reserve = await h.env.client.workflow.executeUpdateWithStart(reserveUpdate, { startWorkflowOperation: op });
  const handle = (await op.workflowHandle()) as WorkflowHandle<typeof jobWorkflow>;
  return { input, reserve, handle };
}

/** The execute body the tests send: one concept, one protect concept, a recolor. */
export const EXECUTE: ExecuteInput = {
  concepts: [{ id: 'wall', prompt: 'wall' }],
  protect: [{ id: 'person', prompt: 'person' }],
  params: { operations: [{ concept: 'wall', op: 'recolor', color: '#A3B18A', strength: 1 }], feather_px: 0 },
};

/** Polls `fn` until it returns true (for things only visible from outside, like a stub having started). */
export async function eventually(fn: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
