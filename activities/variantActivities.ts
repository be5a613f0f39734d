/**
 * The variant workflow's I/O on the orchestration queue: the credit ledger under the variant's own ref and the DB
 * mirror of the variant (job_variants_log). Idempotent, like the job activities: a retry writes the same thing.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { DataSource } from 'typeorm';
import type { ReserveResult } from '../domain/jobData';
import { isItemTerminal } from '../domain/jobStates';
import { variantRef, type VariantItemState, type VariantRecord, type VariantState } from '../domain/variantMachine';
import { JobVariantLog } from '../entities/JobVariantLog';
import { JobSettledError, UnknownUserError, type Credits, type Settlement } from '../services/credits';
import { inTransaction } from '../services/transaction';

/** Which variant a ledger call is about. */
export interface VariantCreditsInput {
  jobId: string;
  userId: string;
  n: number;
}

/** Builds the variant activities around the ledger and the data source. */
export function createVariantActivities({ ds, credits }: { ds: DataSource; credits: Credits }) {
  const rows = ds.getRepository(JobVariantLog);
  return {
    /** Holds the variant's credits under its own ref; a retry returns the first outcome. */
    async reserveVariantCredits(x: VariantCreditsInput & { amount: number }): Promise<ReserveResult> {
      return credits.reserve(x.userId, x.jobId, x.amount, variantRef(x.jobId, x.n)).catch(nonRetryable);
    },

    /** Charges the rendered items' credits and releases the rest, exactly once per variant. */
    async settleVariantCredits(x: VariantCreditsInput & { charge: number }): Promise<Settlement> {
      return credits.settle(x.userId, x.jobId, x.charge, variantRef(x.jobId, x.n)).catch(nonRetryable);
    },

    /**
     * Mirrors the variant row and merges the items changed since the last flush into its items column (one JSON
     * value: read, merge, write under the row's lock). Absolute values, and an item's final state never changes, so a
     * retried or late flush writes nothing new. A row the API dropped (refused create) is not brought back.
     */
    async recordVariantChanges({ variant: v, items }: VariantRecord): Promise<void> {
      await inTransaction(ds, async (m) => {
        // SQLite transactions are already serialized by inTransaction; MySQL locks the row (SELECT … FOR UPDATE).
        const lock = ds.options.type === 'better-sqlite3' ? {} : { lock: { mode: 'pessimistic_write' as const } };
        const row = await m.findOne(JobVariantLog, { where: { jobId: v.jobId, n: v.n }, ...lock });
        if (!row) return;
        await m.update(
          JobVariantLog,
          { jobId: v.jobId, n: v.n },
          {
            status: v.status,
            ...(items.length > 0 ? { items: mergeItems(row.items ?? [], items) } : {}),
            creditsReserved: v.credits.reserved,
            creditsCharged: v.credits.charged,
            creditsRefunded: v.credits.refunded,
            errorCode: v.error?.code ?? null,
            errorMessage: v.error?.message.slice(0, 500) ?? null,
            updatedAt: new Date(v.updatedAt),
            finishedAt: v.finishedAt ? new Date(v.finishedAt) : null,
          },
        );
      });
    },

    /**
     * Mirrors the whole variant (absolute values); a row the API dropped (refused create) is not brought back.
     * Variants started before 'variant-delta-flush' still call it on every change; new ones use recordVariantChanges.
     */
    async recordVariant(s: VariantState): Promise<void> {
      await rows.update(
        { jobId: s.jobId, n: s.n },
        {
          status: s.status,
          items: s.items,
          creditsReserved: s.credits.reserved,
          creditsCharged: s.credits.charged,
          creditsRefunded: s.credits.refunded,
          errorCode: s.error?.code ?? null,
          errorMessage: s.error?.message.slice(0, 500) ?? null,
          updatedAt: new Date(s.updatedAt),
          finishedAt: s.finishedAt ? new Date(s.finishedAt) : null,
        },
      );
    },
  };
}

/** The variant activities' type; the workflow types its proxy from it. */
export type VariantActivities = ReturnType<typeof createVariantActivities>;

/**
 * The row's items with `changed` put in place by idx (any idx the row lacks is added), in idx order. A final state is
 * never replaced by a running one: a late attempt of an older flush must not undo a newer one.
 */
function mergeItems(stored: VariantItemState[], changed: VariantItemState[]): VariantItemState[] {
  const byIdx = new Map(stored.map((i) => [i.idx, i]));
  for (const i of changed) {
    const old = byIdx.get(i.idx);
    if (!old || !isItemTerminal(old.status) || isItemTerminal(i.status)) byIdx.set(i.idx, i);
  }
  return [...byIdx.values()].sort((a, b) => a.idx - b.idx);
}

function nonRetryable(err: unknown): never {
  if (err instanceof UnknownUserError) throw ApplicationFailure.nonRetryable(err.message, 'UNKNOWN_USER');
  if (err instanceof JobSettledError) throw ApplicationFailure.nonRetryable(err.message, 'JOB_SETTLED');
  throw err;
}
