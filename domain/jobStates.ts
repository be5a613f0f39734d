/** Job and item states and the job state machine (API.md, JobView). */

/** Every job status. */
export const JOB_STATUSES = ['created', 'uploaded', 'queued', 'running', 'done', 'failed', 'canceled'] as const;
/** A job status. */
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Every item status. */
export const ITEM_STATUSES = ['pending', 'running', 'done', 'failed', 'canceled'] as const;
/** An item status. */
export type ItemStatus = (typeof ITEM_STATUSES)[number];

const NEXT: Record<JobStatus, readonly JobStatus[]> = {
  created: ['uploaded', 'failed', 'canceled'],
  uploaded: ['queued', 'failed', 'canceled'],
  queued: ['running', 'done', 'failed', 'canceled'],
  running: ['done', 'failed', 'canceled'],
  done: [],
  failed: [],
  canceled: [],
};

/** Whether a job in `from` may move to `to`. */
export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return NEXT[from].includes(to);
}

/** Whether a job status is final. */
export function isTerminal(status: JobStatus): boolean {
  return NEXT[status].length === 0;
}

/** Whether an item status is final. */
export function isItemTerminal(status: ItemStatus): boolean {
  return status === 'done' || status === 'failed' || status === 'canceled';
}

/** An error attached to a job or an item. */
export interface StateError {
  code: string;
  message: string;
}
