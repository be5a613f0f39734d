/**
 * The job workflow (DESIGN.md "The job workflow"): reserve -> await upload -> await execute -> bounded fan-out of
 * segment (GPU task queue) + applyRule (CPU task queue) per item -> settle once -> final DB flush. Thin wiring around JobMachine;
 * deterministic: no I/O, no Node APIs, activities imported as types only, time from the workflow clock.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  type ActivityInterfaceFor,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { JobMachine } from '../domain/jobMachine';
import type { StateError } from '../domain/jobStates';
import type { JobActivities } from '../activities/jobActivities';
import { ItemFailure } from '../domain/jobData';
import type { CpuActivities } from '../activities/contract';
import type { GpuActivities } from '../gpu-activities/contract';
import { inputKey } from '../domain/storageKeys';
import {
  DEFAULT_CPU_TASK_QUEUE,
  INVALID_STATE,
  cancelSignal,
  cancelUpdate,
  confirmUploadUpdate,
  executeUpdate,
  reserveUpdate,
  stateQuery,
  type ExecuteInput,
  type JobInput,
} from './contract';
import type { JobState, ReserveResult } from '../domain/jobData';
import { createFlusher } from './flusher';
import { JOB_STATUS_KEY, jobSearchAttributes } from './searchAttributes';

// patched() ids: each names a change made while jobs of the previous code may still be running.
const BOUNDED_CANCEL_WAIT = 'bounded-cancel-wait';
const THROTTLED_FLUSH = 'throttled-flush';
const CPU_FLEET = 'cpu-fleet';
const RESERVE_MIRRORED = 'reserve-mirrored';
const SEAL_UPLOADS = 'seal-uploads';
/** Every DB-mirror flush starts ≥ 1 s after the previous one, also when the previous one found nothing new. */
const FLUSH_SPACING = 'flush-spacing';
/** How long the cancel update waits for the job to settle before it answers with the state so far. */
const CANCEL_ANSWER_WITHIN = '20s';

// Timeouts and retries, declared once. The ledger and the DB mirror retry without limit (a DB outage must delay the
// settlement, never lose it; both are idempotent); reserve gives up sooner because POST /jobs is waiting on it.
const { settleCredits, recordJob } = proxyActivities<JobActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});
const { reserveCredits } = proxyActivities<JobActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumAttempts: 3 },
});
// The seal runs before the settlement: bounded well inside the cancel update's 20 s answer, so a store outage delays
// the cancel's answer and the credits' release by seconds, not forever.
const { sealUploads } = proxyActivities<JobActivities>({
  startToCloseTimeout: '3s',
  scheduleToCloseTimeout: '8s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '2s' },
});
/** Options of the item activities, GPU and CPU (the task queues come from the job's input). */
export const ITEM_ACTIVITY_OPTIONS: ActivityOptions = {
  // segment or applyRule of one image take seconds; the heartbeat timeout is what notices a killed worker, so its
  // item is retried on another worker after ~20 s instead of after startToClose.
  startToCloseTimeout: '10m',
  heartbeatTimeout: '20s',
  // Explicit: wait until the activity acknowledged the cancel, so no item is still running once cancel returns
  // (an unset value behaves as TRY_CANCEL in Core).
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 5,
    // A bad image stays bad: fail the item at once, the job goes on.
    nonRetryableErrorTypes: Object.values(ItemFailure),
  },
};

/** One job, from reservation to settlement; returns the final state. */
export async function jobWorkflow(input: JobInput): Promise<JobState> {
  // `new Date()` inside a workflow is the deterministic workflow clock (the time of the current workflow task).
  const m = new JobMachine(input, () => new Date());
  const gpu = proxyActivities<GpuActivities>({ ...ITEM_ACTIVITY_OPTIONS, taskQueue: input.gpuTaskQueue });
  const fanOut = new CancellationScope();
  let reservation: Promise<ReserveResult> | undefined;
  /** Why the reservation failed (the ApplicationFailure type the reserve update answers with), once it has. */
  let reserveFailure: ReserveFailure | undefined;
  let reservationClosed = false;
  /** Whether confirm-upload was accepted (the inputs are then all in the store, written once). */
  let uploadsConfirmed = false;

  // --- status side effects: search attribute on each status change, a DB flush (batched, spaced) on every change -
  let lastStatus = m.status;
  let lastVersion = m.version;
  // Also set by the API at start; upserted here so a run started any other way (CLI, tests) is findable too.
  upsertSearchAttributes(jobSearchAttributes(input.userId, input.presetId, m.status));
  const flusher = createFlusher(m, recordJob, () => patched(THROTTLED_FLUSH), patched(FLUSH_SPACING));
  const changed = () => {
    if (m.version === lastVersion) return; // an idempotent repeat changed nothing: no flush
    lastVersion = m.version;
    if (m.status !== lastStatus) {
      lastStatus = m.status;
      upsertSearchAttributes([{ key: JOB_STATUS_KEY, value: m.status }]);
    }
    if (m.held) flusher.request(); // a refused job was never a job: nothing to mirror
  };
  const guard = (ok: boolean, what: string) => {
    if (!ok) throw ApplicationFailure.nonRetryable(`cannot ${what} a ${m.status} job`, INVALID_STATE);
  };
  const requestCancel = () => {
    if (!m.requestCancel()) return;
    fanOut.cancel();
    changed();
  };

  // --- handlers ------------------------------------------------------------------------------------------------
  setHandler(stateQuery, () => m.state());
  // Idempotent: the first call's promise is kept, so a repeated reserve returns the first outcome.
  setHandler(reserveUpdate, () => (reservation ??= reserve()), {
    // Too late once the workflow stopped waiting for it: a hold taken now would never be settled.
    validator: () => guard(!reservationClosed || reservation !== undefined, 'reserve'),
  });
  setHandler(
    confirmUploadUpdate,
    () => {
      m.confirmUpload();
      uploadsConfirmed = true;
      changed();
      return m.state();
    },
    { validator: () => guard(m.canConfirmUpload(), 'confirm the upload of') },
  );
  setHandler(
    executeUpdate,
    (x) => {
      m.execute(x);
      changed();
      return m.state();
    },
    { validator: (_x: ExecuteInput) => guard(m.canExecute(), 'execute') },
  );
  setHandler(
    cancelUpdate,
    async () => {
      requestCancel();
      if (patched(BOUNDED_CANCEL_WAIT)) {
        // Settling can be held up (a DB outage retries without limit): answer the HTTP request with the state as it
        // is then, rather than keep it open; the job still settles, and GET /jobs/{id} shows the rest.
        if (!(await condition(() => m.finished, CANCEL_ANSWER_WITHIN))) return m.state();
      } else {
        await condition(() => m.finished);
      }
      // The items all finished before the cancel could stop one: the job is done/failed, as for a late cancel.
      guard(m.status === 'canceled', 'cancel');
      return m.state();
    },
    { validator: () => guard(m.canCancel(), 'cancel') },
  );
  setHandler(cancelSignal, () => {
    if (m.canCancel()) requestCancel();
  });

  async function reserve(): Promise<ReserveResult> {
    try {
      const result = await reserveCredits({ jobId: input.jobId, userId: input.userId, amount: m.amount });
      m.reserved(result);
      changed();
      // The API's row becomes a job when the mirror records the reservation (jobs_log.reserved_at): answer the create
      // once it has, so the job the client gets is one every route can find. The mirror is the row's only writer.
      if (m.held && patched(RESERVE_MIRRORED)) await flusher.flushed();
      return result;
    } catch (err) {
      if (reserveFailure || m.reservation) throw err; // the mirror's flush failed for good (never expected)
      reserveFailure = ledgerFailure(err);
      log.warn('reserve failed', { error: String(err), type: reserveFailure });
      // The job settles to zero below (the hold may have committed before the error). The API maps the type:
      // UNAVAILABLE -> 503, UNKNOWN_USER -> 401, JOB_SETTLED -> 409; in each case the job never existed for the user.
      throw ApplicationFailure.nonRetryable(RESERVE_FAILURES[reserveFailure], reserveFailure, String(err));
    }
  }

  // --- lifecycle -----------------------------------------------------------------------------------------------
  // Waiting for the reserve update too is bounded: a workflow started without one must not wait forever.
  const reserved = () => m.reservation !== null || reserveFailure !== undefined;
  await waitFor(reserved);
  reservationClosed = true;
  // A reserve in flight decides what the settlement must release, so its outcome is awaited even after a cancel.
  if (reservation) await CancellationScope.nonCancellable(() => condition(reserved));
  if (m.reservation?.ok === false) {
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished)); // the reserve update answers first
    return m.state();
  }
  if (!m.held) {
    if (!m.cancelRequested) m.fail({ code: reserveFailure ?? 'NOT_RESERVED', message: 'the job could not reserve its credits' });
  } else if (!m.cancelRequested) {
    const uploaded = await waitFor(() => m.status !== 'created');
    if (uploaded === 'timeout') m.fail({ code: 'UPLOAD_TIMEOUT', message: `no confirm-upload within ${input.uploadTimeout}` });
    else if (uploaded === 'ok') {
      const executed = await waitFor(() => m.status !== 'uploaded');
      if (executed === 'timeout') m.fail({ code: 'EXECUTE_TIMEOUT', message: `no execute within ${input.uploadTimeout}` });
      else if (executed === 'ok' && m.rule) await runItems(m.rule);
    }
  }

  // Settle exactly once, even when the workflow itself is being canceled: a hold must never leak.
  return CancellationScope.nonCancellable(async () => {
    // A job canceled before its uploads were confirmed still has live upload tickets: the store refuses them from now
    // on. Before the settlement, so the cancel's answer comes after it. (A job that timed out has none: a ticket never
    // outlives the upload window.)
    if (m.cancelRequested && m.held && !uploadsConfirmed && patched(SEAL_UPLOADS)) {
      const { jobId, userId, itemCount, contentType } = input;
      await sealUploads({ jobId, userId, itemCount, contentType }).catch((err: unknown) =>
        log.warn('could not seal the uploads; their tickets stay usable until they expire', { error: String(err) }),
      );
    }
    const settlement = await settleCredits({ jobId: input.jobId, userId: input.userId, charge: m.charge() });
    m.settle(settlement);
    changed();
    await flusher.drain();
    await condition(allHandlersFinished); // a waiting cancel update gets its answer before the run completes
    return m.state();
  });

  /** Waits for `moved` with the upload timeout; 'canceled' when a cancel arrived first (or the run was canceled). */
  async function waitFor(moved: () => boolean): Promise<'ok' | 'timeout' | 'canceled'> {
    try {
      const ok = await condition(() => moved() || m.cancelRequested, input.uploadTimeout as Duration);
      if (m.cancelRequested) return 'canceled';
      return ok ? 'ok' : 'timeout';
    } catch (err) {
      if (!isCancellation(err)) throw err;
      onRunCanceled();
      return 'canceled';
    }
  }

  /** The workflow run itself was canceled (Temporal UI, CLI): treated like a cancel request. */
  function onRunCanceled(): void {
    if (!m.cancelRequested && m.canCancel()) requestCancel();
  }

  /** Runs every item, at most `maxInFlight` at once; lanes pull the next index, so order is deterministic. */
  async function runItems(ex: ExecuteInput): Promise<void> {
    // Rule apply is CPU work: it runs on the CPU fleet's queue, so a GPU slot only ever waits on the model. Jobs that
    // executed before the CPU fleet existed replay with applyRule on the GPU queue.
    const cpuQueue = patched(CPU_FLEET) ? (input.cpuTaskQueue ?? DEFAULT_CPU_TASK_QUEUE) : input.gpuTaskQueue;
    const cpu = proxyActivities<CpuActivities>({ ...ITEM_ACTIVITY_OPTIONS, taskQueue: cpuQueue });
    let next = 0;
    const lane = async () => {
      while (next < input.itemCount && !m.cancelRequested) await runItem(next++, ex, cpu);
    };
    const lanes = Math.max(1, Math.min(input.maxInFlight, input.itemCount));
    // Each item catches its own failure, so the scope's promise settles once every lane has stopped.
    await fanOut.run(() => Promise.all(Array.from({ length: lanes }, lane)));
  }

  async function runItem(idx: number, ex: ExecuteInput, cpu: ActivityInterfaceFor<CpuActivities>): Promise<void> {
    const item = { userId: input.userId, jobId: input.jobId, idx, inputKey: inputKey(input.userId, input.jobId, idx, input.contentType) };
    m.itemStarted(idx);
    changed();
    try {
      const seg = await gpu.segment({ item, concepts: ex.concepts, protect: ex.protect });
      const res = await cpu.applyRule({
        item,
        masks: seg.masks,
        concepts: ex.concepts.map((c) => c.id),
        protect: ex.protect.map((p) => p.id),
        params: ex.params,
        outputFormat: ex.outputFormat,
      });
      m.itemDone(idx, { resultKey: res.resultKey, previewKey: res.previewKey, masks: seg.masks, checks: res.checks });
    } catch (err) {
      if (isCancellation(err)) {
        m.itemCanceled(idx);
        onRunCanceled(); // a canceled run cancels the fan-out scope (its child) without a cancel request
      } else m.itemFailed(idx, itemError(err));
    }
    changed();
  }
}

/** Why a reservation failed, as the reserve update's ApplicationFailure type (and the job's error code). */
type ReserveFailure = 'UNAVAILABLE' | 'UNKNOWN_USER' | 'JOB_SETTLED';
const RESERVE_FAILURES: Record<ReserveFailure, string> = {
  UNAVAILABLE: 'the credit ledger is unavailable',
  UNKNOWN_USER: 'unknown user',
  JOB_SETTLED: 'the job has already settled',
};

/** The reserve activity's failure: a permanent one the ledger named (non-retryable), else an outage. */
function ledgerFailure(err: unknown): ReserveFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  return type === 'UNKNOWN_USER' || type === 'JOB_SETTLED' ? type : 'UNAVAILABLE';
}

/** An item's error from an activity failure: a worker's non-retryable item failure type, or PROCESSING_FAILED. */
function itemError(err: unknown): StateError {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && (Object.values(ItemFailure) as string[]).includes(cause.type ?? '')) {
    return { code: cause.type!, message: cause.message };
  }
  return { code: 'PROCESSING_FAILED', message: cause instanceof Error ? cause.message : String(cause) };
}
