/** JobView (API.md §12) from the workflow's state or, once the workflow is gone, from the DB mirror. */
import type { z } from 'zod';
import type { Storage } from '../services/storage';
import { progressOf } from '../domain/jobMachine';
import { inputKey, type UploadContentType } from '../domain/storageKeys';
import type { ItemStatus } from '../domain/jobStates';
import type { JobItemLog } from '../entities/JobItemLog';
import type { JobLog } from '../entities/JobLog';
import type { ItemChecks, ItemState, JobState, Progress } from '../domain/jobData';
import type { RuleParams } from '../domain/ruleParams';
import { setChecksOf, type SetChecks } from '../domain/setChecks';
import type { ExportSummary, ItemView, JobView, VariantSummary } from './schemas';

/** The columns of a mirror item row a JobView reads. */
export type ItemRow = Pick<JobItemLog, 'idx' | 'status' | 'errorCode' | 'errorMessage' | 'resultKey' | 'previewKey' | 'masks' | 'checks'>;

/** One flushed item's state from its mirror row. */
export function itemStateOf(r: ItemRow): ItemState {
  return {
    idx: r.idx,
    status: r.status,
    ...(r.errorCode ? { error: { code: r.errorCode, message: r.errorMessage ?? '' } } : {}),
    ...(r.resultKey ? { resultKey: r.resultKey } : {}),
    ...(r.previewKey ? { previewKey: r.previewKey } : {}),
    ...(r.masks ? { masks: r.masks } : {}),
    ...(r.checks ? { checks: r.checks as unknown as ItemChecks } : {}),
  };
}

/** The status of an item the mirror has no row of: pending while the job may still run it, else canceled. */
function unflushed(job: JobLog): ItemStatus {
  return job.status === 'canceled' || job.status === 'failed' ? 'canceled' : 'pending';
}

/** Rebuilds a JobState from the DB mirror (items not yet flushed are pending, or canceled once the job is). */
export function stateFromLog(job: JobLog, rows: ItemRow[]): JobState {
  const byIdx = new Map(rows.map((r) => [r.idx, r]));
  const items: ItemState[] = Array.from({ length: job.itemCount }, (_, idx) => {
    const r = byIdx.get(idx);
    return r ? itemStateOf(r) : { idx, status: unflushed(job) };
  });
  return rowState(
    job,
    items,
    progressOf(job.itemCount, (status) => items.filter((i) => i.status === status).length),
  );
}

/**
 * One page of a job from the DB mirror: the items of `page` from their rows (`rows` may hold more), and the progress
 * of every item from the mirror's status counts.
 */
export function pageStateFromLog(job: JobLog, counts: Partial<Record<ItemStatus, number>>, rows: ItemRow[], page: ItemPage): JobState {
  const byIdx = new Map(rows.map((r) => [r.idx, r]));
  const items: ItemState[] = [];
  for (let idx = page.offset; idx < Math.min(page.offset + page.limit, job.itemCount); idx++) {
    const r = byIdx.get(idx);
    items.push(r ? itemStateOf(r) : { idx, status: unflushed(job) });
  }
  return rowState(job, items, progressFromCounts(job, counts));
}

function rowState(job: JobLog, items: ItemState[], progress: Progress): JobState {
  return {
    jobId: job.id,
    userId: job.userId,
    presetId: job.presetId,
    status: job.status,
    itemCount: job.itemCount,
    progress,
    credits: { reserved: job.creditsReserved, charged: job.creditsCharged, refunded: job.creditsRefunded },
    error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    items,
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

/**
 * Progress from the mirror's item status counts. The mirror holds finished items only (`running` is live state the
 * workflow serves), so the rest are pending while the job runs, and canceled once it ended without them.
 */
function progressFromCounts(job: JobLog, counts: Partial<Record<ItemStatus, number>>): Progress {
  const rest = job.itemCount - (counts.done ?? 0) - (counts.failed ?? 0) - (counts.canceled ?? 0);
  const missing = unflushed(job);
  return progressOf(job.itemCount, (s) => (counts[s] ?? 0) + (s === missing ? rest : 0));
}

/** The JobView without its per-item and per-set parts (lists, SSE progress events). */
export type JobSummaryView = Omit<z.input<typeof JobView>, 'items' | 'set_checks' | 'variants' | 'exports'>;

/** A job's summary from its mirror row and its items' status counts (for `GET /jobs`, one query per page). */
export function summaryFromLog(job: JobLog, counts: Partial<Record<ItemStatus, number>>): JobSummaryView {
  return jobSummary(rowState(job, [], progressFromCounts(job, counts)));
}

/** The JobView of a state, without items (for lists and SSE progress events). */
export function jobSummary(state: JobState): JobSummaryView {
  return {
    id: state.jobId,
    status: state.status,
    preset_id: state.presetId,
    item_count: state.itemCount,
    progress: state.progress,
    credits: state.credits,
    error: state.error,
    created_at: state.createdAt,
    updated_at: state.updatedAt,
    finished_at: state.finishedAt,
  };
}

/** Which items a JobView lists: `items_offset` and `items_limit` of `GET /jobs/{id}`. */
export interface ItemPage {
  offset: number;
  limit: number;
}

/**
 * The JobView with short-lived presigned GET URLs for every stored object of the items of `page` (all without).
 * `setChecks`, when given, are the set checks of the whole job for a state that holds one page of its items.
 */
export async function jobView(
  state: JobState,
  contentType: UploadContentType,
  storage: Storage,
  ttlSeconds: number,
  extras: {
    params?: RuleParams | null;
    variants?: z.input<typeof VariantSummary>[];
    exports?: z.input<typeof ExportSummary>[];
    page?: ItemPage;
    setChecks?: SetChecks;
  } = {},
): Promise<z.input<typeof JobView>> {
  const url = (key: string | undefined) => (key ? storage.presignGet(key, ttlSeconds) : Promise.resolve(null));
  // Uploads are whatever the phone sent: served as the declared image type and as a download, so a text/html body
  // on an image ticket never renders as a page on the store's origin.
  const inputUrl = (idx: number) =>
    storage.presignGet(inputKey(state.userId, state.jobId, idx, contentType), ttlSeconds, { contentType, attachment: true });
  const { page } = extras;
  const listed = page ? state.items.slice(page.offset, page.offset + page.limit) : state.items;
  const items = await Promise.all(
    listed.map(async (item): Promise<z.input<typeof ItemView>> => {
      const maskEntries = await Promise.all(
        Object.entries(item.masks ?? {}).map(async ([c, k]) => [c, await storage.presignGet(k, ttlSeconds)] as const),
      );
      return {
        idx: item.idx,
        status: item.status,
        error: item.error ?? null,
        input_url: await inputUrl(item.idx),
        result_url: await url(item.resultKey),
        preview_url: await url(item.previewKey),
        masks: Object.fromEntries(maskEntries),
        checks: item.checks ?? null,
      };
    }),
  );
  return {
    ...jobSummary(state),
    items,
    set_checks: extras.setChecks ?? setChecksOf(extras.params, state.items),
    variants: extras.variants ?? [],
    exports: extras.exports ?? [],
  };
}
