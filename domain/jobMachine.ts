/**
 * The job state machine (API.md "JobView"): job status, per-item bookkeeping, progress, credits and the final status.
 * A plain class with no Temporal import, so the rules are unit tested without a server; the job workflow only wires
 * updates and activity results into it. Time comes from the clock it is given (the workflow's deterministic clock).
 */
import { canTransition, isItemTerminal, isTerminal, type ItemStatus, type JobStatus, type StateError } from './jobStates';
import type { RuleParams } from './ruleParams';
import {
  refusalMessage,
  type ItemChecks,
  type ItemState,
  type JobCredits,
  type JobRule,
  type JobState,
  type Progress,
  type ReserveResult,
} from './jobData';
import type { UploadContentType } from './storageKeys';

/** Thrown when an operation is not valid in the job's current status (the workflow maps it to INVALID_STATE). */
export class InvalidStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidStateError';
  }
}

/** The rule a job runs, by ids (what the DB mirror stores once `execute` arrives). */
export interface RuleRecord {
  concepts: string[];
  protect: string[];
  params: RuleParams;
}

/**
 * What one DB flush carries: the job row, every item finished since the previous flush, the rule once.
 * `reservedAt` (when the ledger held the credits) is what makes the API's row a job (jobs_log.reserved_at).
 */
export interface JobRecord {
  job: Omit<JobState, 'items' | 'progress'> & { contentType: string; reservedAt?: string | null };
  items: ItemState[];
  rule?: RuleRecord;
}

/** What the successful GPU steps of an item produced. */
export interface ItemResult {
  resultKey: string;
  previewKey: string;
  masks: Record<string, string>;
  checks: ItemChecks;
}

/** What the machine needs of the job's input (the workflow's JobInput has these and more). */
export interface MachineInput {
  jobId: string;
  userId: string;
  presetId: string;
  itemCount: number;
  /** Credits per item; the reservation is itemCount × unitCost. */
  unitCost: number;
  contentType: UploadContentType;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Progress counters from item counts; `percent` counts processed (done or failed) items. */
export function progressOf(total: number, count: (status: ItemStatus) => number): Progress {
  const done = count('done');
  const failed = count('failed');
  return {
    total,
    done,
    failed,
    running: count('running'),
    pending: count('pending'),
    canceled: count('canceled'),
    percent: total === 0 ? 100 : round1(((done + failed) / total) * 100),
  };
}

/** One job's state and the rules that move it. */
export class JobMachine {
  status: JobStatus = 'created';
  error: StateError | null = null;
  /** Set once the ledger holds the job's credits (or refused them); `held` tells which. */
  reservation: ReserveResult | null = null;
  cancelRequested = false;
  /** Grows with every change, so callers can tell an idempotent repeat (nothing to flush) from a change. */
  version = 0;
  readonly items: ItemState[];
  private credits: JobCredits = { reserved: 0, charged: 0, refunded: 0 };
  private settled = false;
  private readonly createdAt: string;
  private updatedAt: string;
  private finishedAt: string | null = null;
  private reservedAt: string | null = null;
  private executeInput: JobRule | null = null;
  private ruleDirty = false;
  private readonly dirty = new Set<number>();

  constructor(
    readonly input: MachineInput,
    private readonly clock: () => Date,
  ) {
    this.items = Array.from({ length: input.itemCount }, (_, idx) => ({ idx, status: 'pending' as ItemStatus }));
    this.createdAt = this.updatedAt = clock().toISOString();
  }

  /** The rule `execute` brought, prompts included (null before it arrives). */
  get rule(): JobRule | null {
    return this.executeInput;
  }

  /** Credits the job reserves: item_count × unit cost. */
  get amount(): number {
    return this.input.itemCount * this.input.unitCost;
  }

  /** Whether the ledger holds credits for this job. */
  get held(): boolean {
    return this.reservation?.ok === true;
  }

  /** Whether the job has settled, or was refused at reserve (its final status is known). */
  get finished(): boolean {
    return this.settled;
  }

  /** Records the ledger's answer; a refusal ends the job at once as `failed` with the refusal's code. */
  reserved(result: ReserveResult): void {
    this.reservation = result;
    if (result.ok) {
      this.credits.reserved = result.amount;
      this.reservedAt = this.clock().toISOString();
    } else {
      this.end('failed', { code: result.code, message: refusalMessage(result) });
      this.settled = true; // nothing is held, so there is nothing to settle
    }
    this.touch();
  }

  /** Whether `confirmUpload` is accepted: to move `created -> uploaded`, or as a repeat once uploaded. */
  canConfirmUpload(): boolean {
    if (this.status === 'created') return this.held && !this.cancelRequested;
    return ['uploaded', 'queued', 'running', 'done'].includes(this.status);
  }

  /** `created -> uploaded`; a repeat after success changes nothing (idempotent). */
  confirmUpload(): void {
    if (!this.canConfirmUpload()) throw new InvalidStateError(`cannot confirm the upload of a ${this.status} job`);
    if (this.status === 'created') this.moveTo('uploaded');
  }

  /** Whether `execute` is accepted (only once, from `uploaded`). */
  canExecute(): boolean {
    return this.status === 'uploaded' && !this.cancelRequested;
  }

  /** `uploaded -> queued` with the rule to run. */
  execute(rule: JobRule): void {
    if (!this.canExecute()) throw new InvalidStateError(`cannot execute a ${this.status} job`);
    this.executeInput = rule;
    this.ruleDirty = true;
    this.moveTo('queued');
  }

  /** Whether a cancel is accepted: any non-terminal job, and a canceled one again (idempotent). */
  canCancel(): boolean {
    return !isTerminal(this.status) || this.status === 'canceled';
  }

  /** Asks the job to stop; the status becomes `canceled` when it settles. Returns whether this was the first ask. */
  requestCancel(): boolean {
    if (!this.canCancel()) throw new InvalidStateError(`cannot cancel a ${this.status} job`);
    if (this.cancelRequested || isTerminal(this.status)) return false;
    this.cancelRequested = true;
    this.touch();
    return true;
  }

  /** Fails the job before processing (UPLOAD_TIMEOUT, EXECUTE_TIMEOUT, a ledger outage); settles later. */
  fail(error: StateError): void {
    this.error = error;
    this.touch();
  }

  /** An item's first GPU step is starting; the job becomes `running` with its first item. */
  itemStarted(idx: number): void {
    this.setItem(idx, { status: 'running' });
    if (this.status === 'queued') this.moveTo('running');
  }

  /** An item finished every step. */
  itemDone(idx: number, result: ItemResult): void {
    this.setItem(idx, { status: 'done', ...result });
  }

  /** An item failed for good (non-retryable, or retries exhausted); the job goes on. */
  itemFailed(idx: number, error: StateError): void {
    this.setItem(idx, { status: 'failed', error });
  }

  /** An item was stopped by a cancel. */
  itemCanceled(idx: number): void {
    this.setItem(idx, { status: 'canceled' });
  }

  /** Credits to charge at settlement: done items only, everything else is refunded. */
  charge(): number {
    return this.count('done') * this.input.unitCost;
  }

  /** Records the ledger's settlement and fixes the final status (API.md: some failed -> done, all failed -> failed). */
  settle(settlement: { charged: number; released: number }): void {
    for (const item of this.items) if (!isItemTerminal(item.status)) this.itemCanceled(item.idx);
    this.credits = { reserved: this.credits.reserved, charged: settlement.charged, refunded: settlement.released };
    this.settled = true;
    if (isTerminal(this.status)) return this.touch(); // refused at reserve: already failed
    if (this.error) return this.end('failed', this.error);
    const processed = this.items.every((i) => i.status === 'done' || i.status === 'failed');
    if (this.cancelRequested && !processed) return this.end('canceled', null);
    if (this.status === 'queued' || this.status === 'running') {
      if (this.count('done') > 0) return this.end('done', null);
      return this.end('failed', { code: 'ALL_ITEMS_FAILED', message: 'every item of the job failed' });
    }
    // Not processed, no error, no cancel: only reachable through a misuse of the machine.
    throw new InvalidStateError(`cannot settle a ${this.status} job`);
  }

  /** Progress counters; `percent` counts processed (done or failed) items. */
  progress(): Progress {
    return progressOf(this.items.length, (status) => this.count(status));
  }

  /** The job as the state query returns it. Credits show the projected charge until the ledger settles. */
  state(): JobState {
    return {
      ...this.row(),
      progress: this.progress(),
      items: this.items.map((i) => ({ ...i })),
    };
  }

  /** Whether an item finished or the rule arrived since the last `takeRecord` (the job row is always sent). */
  hasChanges(): boolean {
    return this.dirty.size > 0 || this.ruleDirty;
  }

  /** The next DB flush: the job row plus the items finished since the previous call, which are then marked clean. */
  takeRecord(): JobRecord {
    const items = [...this.dirty].sort((a, b) => a - b).map((idx) => ({ ...this.items[idx] }));
    this.dirty.clear();
    const record: JobRecord = { job: { ...this.row(), contentType: this.input.contentType, reservedAt: this.reservedAt }, items };
    const rule = this.executeInput;
    if (this.ruleDirty && rule) {
      record.rule = { concepts: rule.concepts.map((c) => c.id), protect: rule.protect.map((p) => p.id), params: rule.params };
    }
    this.ruleDirty = false;
    return record;
  }

  private row(): Omit<JobState, 'items' | 'progress'> {
    const { jobId, userId, presetId, itemCount } = this.input;
    return {
      jobId,
      userId,
      presetId,
      itemCount,
      status: this.status,
      // Until the ledger settles, `charged` is the projection of the done items (API.md shows it growing mid-run).
      credits: this.settled ? { ...this.credits } : { ...this.credits, charged: this.charge() },
      error: this.error,
      createdAt: this.createdAt,
      updatedAt: this.updatedAt,
      finishedAt: this.finishedAt,
    };
  }

  private count(status: ItemStatus): number {
    return this.items.filter((i) => i.status === status).length;
  }

  private setItem(idx: number, patch: Partial<ItemState>): void {
    const item = this.items[idx];
    if (!item) throw new InvalidStateError(`no item ${idx}`);
    if (isItemTerminal(item.status)) throw new InvalidStateError(`item ${idx} already ${item.status}`);
    Object.assign(item, patch);
    // Only finished items go to the DB mirror: `running` is live state the query serves, and skipping it halves
    // what the flushes carry through the workflow history.
    if (isItemTerminal(item.status)) this.dirty.add(idx);
    this.touch();
  }

  private moveTo(next: JobStatus): void {
    if (!canTransition(this.status, next)) throw new InvalidStateError(`cannot move a ${this.status} job to ${next}`);
    this.status = next;
    this.touch();
  }

  private end(status: JobStatus, error: StateError | null): void {
    this.moveTo(status);
    this.error = error;
    this.finishedAt = this.updatedAt;
  }

  private touch(): void {
    this.version++;
    this.updatedAt = this.clock().toISOString();
  }
}
