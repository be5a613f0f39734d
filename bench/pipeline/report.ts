/**
 * bench:pipeline's report: the table of every scenario (batched beside unbatched), the cost model, the targets with
 * PASS/MISS, each scenario's profile, the setup, and the last line for scripts.
 */
import { batchCostMs, gpuItemsPerS } from './gpuCurve';
import { describeOutcome } from './profile';
import type { Outcome } from './scenario';
import { f0, f1, pct, quantile, table } from './stats';

/** What the report needs besides the outcomes. */
export interface ReportContext {
  workers: number;
  maxBatch: number;
  concepts: string[];
  /** The setup line. */
  setup: string;
}

const isGpu = (o: Outcome) => o.s.model.kind === 'h200';

/** Prints the report; returns the last line (also printed). */
export function report(outcomes: Outcome[], ctx: ReportContext): string {
  const W = ctx.workers;
  const M = ctx.maxBatch;
  const find = (name: string) => outcomes.find((o) => o.s.name === name);
  const one = find('1w');
  const many = find(`${W}w`);
  const bOne = find(`1w@${M}`);
  const bMany = find(`${W}w@${M}`);
  // Many small jobs against one job of as many items (the default run: 40 × 5 against 1 × 200).
  const bJobs = outcomes.find((o) => o.s.jobs > 1 && o.s.workers === 1 && o.s.model.maxBatch === M);
  const bJobsRef =
    bJobs && outcomes.find((o) => o.s.jobs === 1 && o.s.workers === 1 && o.s.model.maxBatch === M && o.s.items === bJobs.s.items);
  const zero = find('zero');
  // What each scenario is compared with: the fleet with one worker of the same batching, batching with no batching,
  // many small jobs with one job.
  const reference = new Map<Outcome | undefined, Outcome | undefined>([
    [many, one],
    [bOne, one],
    [bMany, bOne],
    [bJobs, bJobsRef ?? bOne],
  ]);
  if (bJobsRef && bJobsRef !== bOne) reference.set(bJobsRef, bOne);
  const label = (o: Outcome) =>
    o.s.model.kind === 'zero'
      ? `zero-cost, ${o.s.workers} worker${o.s.workers > 1 ? 's' : ''}`
      : `${o.s.model.maxBatch > 1 ? `batched ≤ ${o.s.model.maxBatch}` : 'unbatched'}, ${o.s.workers} worker${o.s.workers > 1 ? 's' : ''}` +
        (o.s.jobs > 1 ? `, ${o.s.jobs} jobs × ${o.s.items / o.s.jobs}` : '');
  const rows = outcomes.map((o) => {
    const ref = reference.get(o);
    return [
      o.s.name,
      label(o),
      String(o.done),
      o.wallS.toFixed(2),
      o.itemsPerS.toFixed(1),
      isGpu(o) ? pct(o.fleetBusy) : 'n/a',
      f1(o.meanBatch),
      Number.isFinite(o.meanBatch) ? f1(quantile(o.batchWait, 0.5)) : 'n/a',
      f0(quantile(o.latency, 0.5)),
      f0(quantile(o.latency, 0.99)),
      ref ? `${(o.itemsPerS / ref.itemsPerS).toFixed(2)}× ${ref.s.name}` : '—',
      String(o.events),
    ];
  });
  console.log('');
  console.log(
    table(
      [
        'scenario',
        '',
        'items',
        'wall s',
        'items/s',
        'GPU busy',
        'mean batch',
        'batch wait p50 ms',
        'p50 ms',
        'p99 ms',
        'vs',
        'history events',
      ],
      rows,
    ),
  );
  console.log('');
  const p = ctx.concepts.length;
  console.log(
    `GPU model (H200, SAM3 1008²): batch 1 = ${f1(batchCostMs(1, p))} ms/item (${p} concepts) -> ${gpuItemsPerS(1, p).toFixed(2)} items/s per GPU; ` +
      `batch ${M} = ${f1(batchCostMs(M, p) / M)} ms/item -> ${gpuItemsPerS(M, p).toFixed(2)} items/s per GPU at 100 % busy`,
  );
  console.log(
    'wall = execute accepted by the workflow (update-accepted event) -> last applyRule completion; items/s = items / wall; ' +
      "latency = the same start -> the item's applyRule completion (seen by the CPU stand-in); GPU busy = Σ GPU time / (workers × first GPU start -> last segment completion); " +
      'mean batch = images per model batch, averaged over batches; batch wait = submitted to the batcher -> its batch started',
  );
  console.log('');
  const targets: string[][] = [];
  const mark = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  if (one) targets.push(['unbatched: GPU busy ≥ 95 % with one worker', pct(one.fleetBusy), mark(one.fleetBusy >= 0.95)]);
  if (one && many) {
    const r = many.itemsPerS / one.itemsPerS;
    targets.push([`unbatched: ${W} workers ≥ ${(0.9 * W).toFixed(1)}× one worker's items/s`, `${r.toFixed(2)}×`, mark(r >= 0.9 * W)]);
  }
  if (bOne) {
    const ok = bOne.itemsPerS >= 30 && bOne.fleetBusy >= 0.95;
    targets.push([
      `batched ≤ ${M}: one worker ≥ 30 items/s at ≥ 95 % busy`,
      `${bOne.itemsPerS.toFixed(1)} items/s, ${pct(bOne.fleetBusy)}`,
      mark(ok),
    ]);
  }
  if (bOne && bMany) {
    const r = bMany.itemsPerS / bOne.itemsPerS;
    targets.push([`batched ≤ ${M}: ${W} workers ≥ ${(0.9 * W).toFixed(1)}× one worker's items/s`, `${r.toFixed(2)}×`, mark(r >= 0.9 * W)]);
  }
  const jobsRef = bJobsRef ?? bOne;
  if (jobsRef && bJobs) {
    const r = bJobs.itemsPerS / jobsRef.itemsPerS;
    targets.push([
      `batched ≤ ${M}: ${bJobs.s.jobs} concurrent ${bJobs.s.items / bJobs.s.jobs}-item jobs ≥ 90 % of one ${jobsRef.s.items}-item job's items/s`,
      pct(r),
      mark(r >= 0.9),
    ]);
  }
  if (zero) targets.push(['zero-cost ≥ 100 items/s', `${zero.itemsPerS.toFixed(1)} items/s`, mark(zero.itemsPerS >= 100)]);
  if (targets.length) console.log(table(['target', 'reached', ''], targets));
  else console.log(`(no target applies to these scenarios: 1w, ${W}w, 1w@${M}, ${W}w@${M}, 1w:<J>j@${M} and zero are the targets)`);
  console.log('');
  for (const o of outcomes) console.log(describeOutcome(o) + '\n');
  console.log(ctx.setup);
  const last =
    `batched: 1w ${bOne ? bOne.itemsPerS.toFixed(1) : 'n/a'} items/s ${bOne ? (100 * bOne.fleetBusy).toFixed(1) : 'n/a'}% busy, ` +
    `${W}w ${bOne && bMany ? (bMany.itemsPerS / bOne.itemsPerS).toFixed(2) : 'n/a'}x, 40x5 ${bJobs ? bJobs.itemsPerS.toFixed(1) : 'n/a'} items/s`;
  console.log(last);
  return last;
}
