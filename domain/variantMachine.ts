/**
 * A variant (API.md §17, compare): another rule rendered on a done job's stored originals and masks. Its data and the
 * plain state machine the variant workflow wires (no Temporal import, unit tested without a server).
 */
import type { ItemChecks, ItemRef, JobCredits, Progress, ReserveResult } from './jobData';
import { progressOf } from './jobMachine';
import type { ItemStatus, StateError } from './jobStates';
import type { RuleParams } from './ruleParams';
import type { OutputFormat } from './storageKeys';

/** Every variant status. */
export const VARIANT_STATUSES = ['queued', 'running', 'done', 'failed', 'canceled'] as const;
/** A variant status. */
export type VariantStatus = (typeof VARIANT_STATUSES)[number];

/** Whether a variant status is final. */
export function isVariantTerminal(status: VariantStatus): boolean {
  return status === 'done' || status === 'failed' || status === 'canceled';
}

/** The ledger ref of variant n of a job: its own reserve/charge/release lines, apart from the job's. */
export function variantRef(jobId: string, n: number): string {
  return `${jobId}:v${n}`;
}

/** The rule a variant renders: the saved rule's id when it came from one, and the params either way. */
export interface VariantRule {
  rule_id?: string;
  params: RuleParams;
}

/** One done item of the job the variant renders again: its original and its stored masks. */
export interface VariantItemInput {
  item: ItemRef;
  masks: Record<string, string>;
}

/** One item of a variant. */
export interface VariantItemState {
  idx: number;
  status: ItemStatus;
  error?: StateError;
  resultKey?: string;
  previewKey?: string;
  checks?: ItemChecks;
}

/** A variant as the state query returns it and the DB mirror stores it. */
export interface VariantState {
  jobId: string;
  userId: string;
  n: number;
  status: VariantStatus;
  rule: VariantRule;
  outputFormat: OutputFormat;
  progress: Progress;
  credits: JobCredits;
  error: StateError | null;
  items: VariantItemState[];
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/**
 * What one DB-mirror flush carries: the variant row (absolute values) and the items that started or finished since
 * the previous flush, so each item travels through the workflow history at most twice (running, then final).
 */
export interface VariantRecord {
  variant: Omit<VariantState, 'items' | 'progress' | 'rule' | 'outputFormat'>;
  items: VariantItemState[];
}

/** What the machine needs of the variant's input. */
export interface VariantMachineInput {
  jobId: string;
  userId: string;
  n: number;
  idxs: number[];
  rule: VariantRule;
  outputFormat: OutputFormat;
  /** Credits reserved for the variant: ceil(items / itemsPerCredit). */
  amount: number;
  itemsPerCredit: number;
}

/** One variant's state and the rules that move it. */
export class VariantMachine {
  status: VariantStatus = 'queued';
  error: StateError | null = null;
  reservation: ReserveResult | null = null;
  cancelRequested = false;
  private settled = false;
  private credits: JobCredits = { reserved: 0, charged: 0, refunded: 0 };
  private readonly items: VariantItemState[];
  private readonly createdAt: string;
  private updatedAt: string;
  private finishedAt: string | null = null;
  /** Bumped on every change, so the workflow flushes only when something moved. */
  version = 0;
  /** Items started or finished since the last `takeRecord` (the JobView's variant progress reads the mirror). */
  private readonly dirty = new Set<number>();

  constructor(
    private readonly input: VariantMachineInput,
    private readonly now: () => Date,
  ) {
    this.items = input.idxs.map((idx) => ({ idx, status: 'pending' }));
    this.createdAt = this.updatedAt = now().toISOString();
  }

  /** Whether the variant has settled (or was refused): its final status is known. */
  get finished(): boolean {
    return this.settled;
  }

  /** Whether credits are held for it. */
  get held(): boolean {
    return this.reservation?.ok === true;
  }

  private touch(): void {
    this.version++;
    this.updatedAt = this.now().toISOString();
  }

  /** The ledger's answer; a refusal ends the variant at once (nothing is held, nothing to settle). */
  reserved(result: ReserveResult): void {
    this.reservation = result;
    if (result.ok) this.credits = { reserved: result.amount, charged: 0, refunded: 0 };
    else {
      this.status = 'failed';
      this.error = { code: result.code, message: 'the variant could not reserve its credits' };
      this.settled = true;
      this.finishedAt = this.now().toISOString();
    }
    this.touch();
  }

  /** Whether a cancel can still change anything. */
  canCancel(): boolean {
    return !isVariantTerminal(this.status) && !this.settled;
  }

  /** Asks the variant to stop; returns whether this was the first ask. */
  requestCancel(): boolean {
    if (this.cancelRequested || !this.canCancel()) return false;
    this.cancelRequested = true;
    this.touch();
    return true;
  }

  private item(idx: number): VariantItemState {
    const item = this.items.find((i) => i.idx === idx);
    if (!item) throw new Error(`variant has no item ${idx}`);
    return item;
  }

  /** An item went to the CPU fleet. */
  itemStarted(idx: number): void {
    this.item(idx).status = 'running';
    this.dirty.add(idx);
    if (this.status === 'queued') this.status = 'running';
    this.touch();
  }

  /** An item's result is stored. */
  itemDone(idx: number, res: { resultKey: string; previewKey: string; checks: ItemChecks }): void {
    Object.assign(this.item(idx), { status: 'done', ...res });
    this.dirty.add(idx);
    this.touch();
  }

  /** An item failed for good. */
  itemFailed(idx: number, error: StateError): void {
    Object.assign(this.item(idx), { status: 'failed', error });
    this.dirty.add(idx);
    this.touch();
  }

  /** An item was stopped by a cancel. */
  itemCanceled(idx: number): void {
    this.item(idx).status = 'canceled';
    this.dirty.add(idx);
    this.touch();
  }

  /** Credits to charge: ceil(done / itemsPerCredit), never more than was held. */
  charge(): number {
    if (!this.held) return 0;
    const done = this.count('done');
    return Math.min(this.credits.reserved, Math.ceil(done / this.input.itemsPerCredit));
  }

  /** Records the settlement and fixes the final status (some done -> done, none -> failed, cancel -> canceled). */
  settle(settlement: { charged: number; released: number }): void {
    this.credits = { reserved: this.credits.reserved, charged: settlement.charged, refunded: settlement.released };
    for (const i of this.items) {
      if (i.status !== 'pending' && i.status !== 'running') continue;
      i.status = 'canceled';
      this.dirty.add(i.idx);
    }
    if (this.cancelRequested) this.status = 'canceled';
    else if (this.count('done') > 0) this.status = 'done';
    else {
      this.status = 'failed';
      this.error ??= { code: 'ALL_ITEMS_FAILED', message: 'no item of the variant could be rendered' };
    }
    this.settled = true;
    this.finishedAt = this.now().toISOString();
    this.touch();
  }

  private count(status: ItemStatus): number {
    return this.items.filter((i) => i.status === status).length;
  }

  /** Whether an item started or finished since the last `takeRecord` (the variant row is always sent). */
  hasChanges(): boolean {
    return this.dirty.size > 0;
  }

  /** The next DB flush: the variant row plus the items changed since the previous call, which are then marked clean. */
  takeRecord(): VariantRecord {
    const s = this.state();
    const { jobId, userId, n, status, credits, error, createdAt, updatedAt, finishedAt } = s;
    const items = s.items.filter((i) => this.dirty.has(i.idx));
    this.dirty.clear();
    return { variant: { jobId, userId, n, status, credits, error, createdAt, updatedAt, finishedAt }, items };
  }

  /** The variant as the state query returns it; credits show the projected charge until the ledger settles. */
  state(): VariantState {
    const credits = this.settled ? this.credits : { reserved: this.credits.reserved, charged: this.charge(), refunded: 0 };
    return {
      jobId: this.input.jobId,
      userId: this.input.userId,
      n: this.input.n,
      status: this.status,
      rule: this.input.rule,
      outputFormat: this.input.outputFormat,
      progress: progressOf(this.items.length, (s) => this.count(s)),
      credits,
      error: this.error,
      items: this.items.map((i) => ({ ...i })),
      createdAt: this.createdAt,
      updatedAt: this.updatedAt,
      finishedAt: this.finishedAt,
    };
  }
}
