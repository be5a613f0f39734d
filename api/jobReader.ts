/** Reads jobs for the routes: ownership (another user's job is a 404) and the freshest state available. */
import { IsNull, Not, type DataSource, type FindOptionsWhere } from 'typeorm';
import { isTerminal, type ItemStatus } from '../domain/jobStates';
import { coloredConcepts, setChecksOf, type SetChecks } from '../domain/setChecks';
import { JobLog } from '../entities/JobLog';
import type { ItemChecks, JobState } from '../domain/jobData';
import { ApiError, notFound } from './errors';
import { WorkflowGoneError, type JobWorkflows } from './jobWorkflows';
import { pageStateFromLog, stateFromLog, type ItemPage, type ItemRow } from './jobViews';

/**
 * The rows that are jobs: the workflow's mirror recorded their reservation. A row without one belongs to a create in
 * progress (or one that failed, which a retry with its Idempotency-Key replaces) and is nobody's job yet.
 * (`ownJob` spells the same condition in SQL.)
 */
export const IS_JOB: FindOptionsWhere<JobLog> = { reservedAt: Not(IsNull()) };

/**
 * One page of a job for `GET /jobs/{id}`: `state.items` holds the page's items only; its progress and `setChecks`
 * count every item of the job.
 */
export interface JobPage {
  state: JobState;
  setChecks: SetChecks;
}

/** The mirror columns a JobView item needs (raw rows: no entity hydration on the path every phone polls). */
const ITEM_COLUMNS = 'idx, status, error_code, error_message, result_key, preview_key, masks, checks';

/** A job_items_log row as a raw query returns it (simple-json columns as text). */
interface RawItemRow {
  idx: number | string;
  status: ItemStatus;
  error_code: string | null;
  error_message: string | null;
  result_key: string | null;
  preview_key: string | null;
  masks: string | Record<string, string> | null;
  checks: string | Record<string, unknown> | null;
}

function itemRowOf(r: RawItemRow): ItemRow {
  return {
    idx: Number(r.idx),
    status: r.status,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    resultKey: r.result_key,
    previewKey: r.preview_key,
    masks: parseJson(r.masks) as Record<string, string> | null,
    checks: parseJson(r.checks) as Record<string, unknown> | null,
  };
}

/** Job look-ups shared by the job, SSE and callback routes. */
export function createJobReader(ds: DataSource, workflows: JobWorkflows) {
  const jobs = ds.getRepository(JobLog);
  // The ownership look-up runs on every job request: a fixed statement, each column hydrated by the driver as find()
  // would (dates, simple-json), without building the query through the query builder each time.
  const jobColumns = ds.getMetadata(JobLog).columns;
  const ownJobSql =
    `SELECT ${jobColumns.map((c) => ds.driver.escape(c.databaseName)).join(', ')} FROM jobs_log ` +
    'WHERE id = ? AND user_id = ? AND reserved_at IS NOT NULL';
  const hydrateJob = (raw: Record<string, unknown>): JobLog => {
    const job = new JobLog() as unknown as Record<string, unknown>;
    for (const c of jobColumns) job[c.propertyName] = ds.driver.prepareHydratedValue(raw[c.databaseName], c);
    return job as unknown as JobLog;
  };

  /** The live state while the workflow runs; null once it is terminal, gone, or Temporal is down. */
  async function liveState(job: JobLog): Promise<JobState | null> {
    if (isTerminal(job.status)) return null;
    try {
      return await workflows.state(job.id);
    } catch (err) {
      if (!(err instanceof WorkflowGoneError) && !(err instanceof ApiError && err.code === 'UNAVAILABLE')) throw err;
      return null;
    }
  }

  /** The mirror rows of the job's items `[from, to)`, all of them without a range. */
  async function itemRowsOf(jobId: string, range?: [number, number]): Promise<ItemRow[]> {
    const rows: RawItemRow[] = range
      ? await ds.query(`SELECT ${ITEM_COLUMNS} FROM job_items_log WHERE job_id = ? AND idx >= ? AND idx < ?`, [jobId, ...range])
      : await ds.query(`SELECT ${ITEM_COLUMNS} FROM job_items_log WHERE job_id = ?`, [jobId]);
    return rows.map(itemRowOf);
  }

  /**
   * A page of the job from the mirror: only the page's rows are read, progress comes from status counts in SQL, and
   * the set checks read the checks of done items only when the rule colours a concept. A page that covers the whole
   * job (every job of up to 100 items at the default page) is one query.
   */
  async function mirrorPage(job: JobLog, page: ItemPage): Promise<JobPage> {
    const end = Math.min(page.offset + page.limit, job.itemCount);
    if (page.offset === 0 && end === job.itemCount) {
      const state = stateFromLog(job, await itemRowsOf(job.id));
      return { state, setChecks: setChecksOf(job.params, state.items) };
    }
    const [counts, rows, done] = await Promise.all([
      ds.query(`SELECT status, COUNT(*) AS n FROM job_items_log WHERE job_id = ? GROUP BY status`, [job.id]) as Promise<
        { status: ItemStatus; n: number | string }[]
      >,
      end > page.offset ? itemRowsOf(job.id, [page.offset, end]) : [],
      coloredConcepts(job.params).length > 0
        ? (ds.query(`SELECT checks FROM job_items_log WHERE job_id = ? AND status = 'done'`, [job.id]) as Promise<
            Pick<RawItemRow, 'checks'>[]
          >)
        : [],
    ]);
    const byStatus = Object.fromEntries(counts.map((c) => [c.status, Number(c.n)]));
    const measured = done.map((r) => ({ status: 'done', checks: parseJson(r.checks) as ItemChecks | null }));
    return { state: pageStateFromLog(job, byStatus, rows, page), setChecks: setChecksOf(job.params, measured) };
  }

  return {
    /** The user's job, or 404 — also for a job of another user. */
    async ownJob(userId: string | undefined, id: string): Promise<JobLog> {
      const [raw]: Record<string, unknown>[] = await ds.query(ownJobSql, [id, userId ?? '']);
      if (!raw) throw notFound(`job '${id}'`);
      return hydrateJob(raw);
    },
    /** The live state while the workflow runs; the DB mirror once it is terminal, gone, or Temporal is down. */
    async state(job: JobLog): Promise<JobState> {
      return (await liveState(job)) ?? stateFromLog(job, await itemRowsOf(job.id));
    },
    /** The items of `page` and the job's progress and set checks, live or from the mirror as `state` decides. */
    async page(job: JobLog, page: ItemPage): Promise<JobPage> {
      const live = await liveState(job);
      if (!live) return mirrorPage(job, page);
      const items = live.items.filter((i) => i.idx >= page.offset && i.idx < page.offset + page.limit);
      return { state: { ...live, items }, setChecks: setChecksOf(job.params, live.items) };
    },
    /** Re-reads the mirror row (its status moves as the workflow flushes). */
    reload(job: JobLog): Promise<JobLog> {
      return jobs.findOneByOrFail({ id: job.id });
    },
  };
}

/** simple-json columns: text in raw queries (parsed already should a driver do it). */
function parseJson(v: unknown): unknown {
  return typeof v === 'string' ? JSON.parse(v) : (v ?? null);
}

/** The job reader's type. */
export type JobReader = ReturnType<typeof createJobReader>;
