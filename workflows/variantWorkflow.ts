/**
 * One variant of a done job (API.md §17): reserve -> bounded fan-out of applyRule on the CPU task queue over the job's
 * done items, from their stored originals and masks (no segmentation, nothing on the GPU queue) -> settle once ->
 * final DB flush. Thin wiring around VariantMachine; deterministic like the job workflow.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { CpuActivities } from '../activities/contract';
import type { VariantActivities } from '../activities/variantActivities';
import { ItemFailure, type ReserveResult } from '../domain/jobData';
import type { StateError } from '../domain/jobStates';
import { VariantMachine, type VariantState } from '../domain/variantMachine';
import { INVALID_STATE } from './contract';
import { createFlusher } from './flusher';
import { ITEM_ACTIVITY_OPTIONS } from './jobWorkflow';
import { JOB_STATUS_KEY, jobSearchAttributes } from './searchAttributes';
import { cancelVariantSignal, cancelVariantUpdate, reserveVariantUpdate, variantStateQuery, type VariantInput } from './variantContract';

// patched() ids: each names a change made while variants of the previous code may still be running.
/** The mirror gets only the items finished since the last flush, one flush in flight, throttled (was: whole state). */
const VARIANT_DELTA_FLUSH = 'variant-delta-flush';
/** Every DB-mirror flush starts ≥ 1 s after the previous one, also when the previous one found nothing new. */
const FLUSH_SPACING = 'flush-spacing';
/** How long the cancel update waits for the variant to settle before answering with the state so far. */
const CANCEL_ANSWER_WITHIN = '20s';
/** How long a variant started without its reserve update waits for one. */
const RESERVE_WITHIN = '1m';

const { settleVariantCredits, recordVariant, recordVariantChanges } = proxyActivities<VariantActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});
const { reserveVariantCredits } = proxyActivities<VariantActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumAttempts: 3 },
});

/** One variant, from reservation to settlement; returns the final state. */
export async function variantWorkflow(input: VariantInput): Promise<VariantState> {
  const m = new VariantMachine(
    {
      jobId: input.jobId,
      userId: input.userId,
      n: input.n,
      idxs: input.items.map((i) => i.item.idx),
      rule: input.rule,
      outputFormat: input.outputFormat,
      amount: input.amount,
      itemsPerCredit: input.itemsPerCredit,
    },
    () => new Date(),
  );
  const cpu = proxyActivities<CpuActivities>({ ...ITEM_ACTIVITY_OPTIONS, taskQueue: input.cpuTaskQueue });
  const fanOut = new CancellationScope();
  let reservation: Promise<ReserveResult> | undefined;
  let reserveFailed = false;

  // Findable in the Temporal UI like jobs: by user, preset and status.
  upsertSearchAttributes(jobSearchAttributes(input.userId, input.presetId, m.status));
  let lastStatus = m.status;
  let lastVersion = m.version;
  // Whole-state flushes on every change grow the history quadratically (~124 MB for 500 items, over Temporal's
  // 50 MB limit): new runs send deltas instead. Runs started before keep the old path so their histories replay.
  const flusher = patched(VARIANT_DELTA_FLUSH) ? createFlusher(m, recordVariantChanges, () => true, patched(FLUSH_SPACING)) : undefined;
  let flushing = false;
  let flushWanted = false;
  const flush = async () => {
    flushing = true;
    try {
      while (flushWanted) {
        flushWanted = false;
        await recordVariant(m.state());
      }
    } finally {
      flushing = false;
    }
  };
  const changed = () => {
    if (m.version === lastVersion) return;
    lastVersion = m.version;
    if (m.status !== lastStatus) {
      lastStatus = m.status;
      upsertSearchAttributes([{ key: JOB_STATUS_KEY, value: m.status }]);
    }
    if (!m.held) return; // a refused variant was never a variant: the API drops its row
    if (flusher) return flusher.request();
    flushWanted = true;
    if (!flushing) void CancellationScope.nonCancellable(flush);
  };
  const requestCancel = () => {
    if (!m.requestCancel()) return;
    fanOut.cancel();
    changed();
  };

  setHandler(variantStateQuery, () => m.state());
  setHandler(reserveVariantUpdate, () => (reservation ??= reserve()));
  setHandler(
    cancelVariantUpdate,
    async () => {
      requestCancel();
      await condition(() => m.finished, CANCEL_ANSWER_WITHIN);
      return m.state();
    },
    {
      validator: () => {
        if (!m.canCancel()) throw ApplicationFailure.nonRetryable(`cannot cancel a ${m.status} variant`, INVALID_STATE);
      },
    },
  );
  setHandler(cancelVariantSignal, () => requestCancel());

  async function reserve(): Promise<ReserveResult> {
    try {
      const result = await reserveVariantCredits({ jobId: input.jobId, userId: input.userId, n: input.n, amount: input.amount });
      m.reserved(result);
      changed();
      return result;
    } catch (err) {
      reserveFailed = true;
      throw ApplicationFailure.nonRetryable('the credit ledger is unavailable', 'UNAVAILABLE', String(err));
    }
  }

  await condition(() => m.reservation !== null || reserveFailed, RESERVE_WITHIN);
  if (m.reservation?.ok === false) {
    await condition(allHandlersFinished);
    return m.state();
  }
  if (m.held && !m.cancelRequested) await runItems();

  return CancellationScope.nonCancellable(async () => {
    const settlement = await settleVariantCredits({ jobId: input.jobId, userId: input.userId, n: input.n, charge: m.charge() });
    m.settle(settlement);
    changed();
    if (!flusher) await condition(() => !flushing);
    else if (m.held) await flusher.drain();
    await condition(allHandlersFinished);
    return m.state();
  });

  async function runItems(): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < input.items.length && !m.cancelRequested) await runItem(input.items[next++]);
    };
    const lanes = Math.max(1, Math.min(input.maxInFlight, input.items.length));
    try {
      await fanOut.run(() => Promise.all(Array.from({ length: lanes }, lane)));
    } catch (err) {
      if (!isCancellation(err)) throw err;
    }
  }

  async function runItem({ item, masks }: VariantInput['items'][number]): Promise<void> {
    m.itemStarted(item.idx);
    changed();
    try {
      const res = await cpu.applyRule({
        item,
        masks,
        concepts: input.concepts,
        protect: input.protect,
        params: input.rule.params,
        outputFormat: input.outputFormat,
        variant: input.n,
      });
      m.itemDone(item.idx, res);
    } catch (err) {
      if (isCancellation(err)) {
        m.itemCanceled(item.idx);
        if (!m.cancelRequested) requestCancel(); // the run itself was canceled (Temporal UI): same as a cancel
      } else m.itemFailed(item.idx, itemError(err));
    }
    changed();
  }
}

function itemError(err: unknown): StateError {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && (Object.values(ItemFailure) as string[]).includes(cause.type ?? '')) {
    return { code: cause.type!, message: cause.message };
  }
  return { code: 'PROCESSING_FAILED', message: cause instanceof Error ? cause.message : String(cause) };
}
