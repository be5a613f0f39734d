/**
 * `npm run bench:pipeline [-- options]`: one job of N items (200) through the real stack — Temporal dev server,
 * SeaweedFS, the API over HTTP, the orchestration worker — with calibrated stand-in GPU workers (bench/pipeline/
 * standIn.ts: one serialized "GPU" per worker holding 24.5 ms + 20 ms per concept, sleep-based), 3 concepts.
 * Scenarios: 1 GPU worker, 4 GPU workers on the same queue, and a zero-cost model (pure orchestration). Prints
 * items/s, GPU-busy fraction, p50/p99 item latency, history size, CPU per process, and the targets with PASS/MISS.
 *
 * Options:
 *   --items N            items per job (200)
 *   --workers N          GPU workers of the fleet scenario (4)
 *   --slots N            maxConcurrentActivityTaskExecutions per GPU worker (8)
 *   --in-flight N        JOB_MAX_IN_FLIGHT for the jobs (default: the config default)
 *   --zero-workers N     GPU workers of the zero-cost scenario (1)
 *   --scenarios a,b,c    of: 1w, <N>w (e.g. 4w, 8w), zero (default: 1w,4w,zero); a `:<J>j` suffix splits the items
 *                        over J concurrent jobs (diagnostic, e.g. zero:4j)
 *   --inline             run the stand-in GPU workers in this process instead of child processes
 *   --wft-slots N        orchestration worker maxConcurrentWorkflowTaskExecutions
 *   --wft-pollers N      orchestration worker workflow task pollers (simple maximum)
 *   --orch-act-slots N   orchestration worker maxConcurrentActivityTaskExecutions
 *   --db URL             mysql://user@host:port/db: run on a temporary database of that server (default: SQLite file)
 *   --encode-ms X --decode-ms Y   the stand-in's cost model (24.5, 20)
 *   --wait-quiet S       before each scenario, wait up to S seconds for a second in which the machine is < 25 % busy
 *                        (for shared machines; the report shows the CPU other processes used during each run anyway)
 *   --temporal-rollback  diagnostic: the dev server's SQLite in the CLI's rollback-journal mode (scripts/stack: WAL)
 *   --temporal-memory    diagnostic: Temporal dev server with its in-memory store instead of a SQLite file
 *   --temporal-arg=A     diagnostic, repeatable: extra `temporal server start-dev` argument
 *   --dump FILE          also write every scenario's activity records (epoch ms) as JSON, for timeline analysis
 *
 * Everything it starts (Temporal, SeaweedFS, workers, child processes, the temp DB and directory) is stopped and
 * removed at the end, on failure and on Ctrl-C.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Runtime, type WorkerOptions } from '@temporalio/worker';
import { waitForQuiet } from './pipeline/cpu';
import { cleanup, handleExits, isStopping } from './pipeline/lifecycle';
import { describeOutcome } from './pipeline/profile';
import { runScenario, type Outcome, type RunSettings, type Scenario } from './pipeline/scenario';
import { metricsAddress } from './pipeline/sdkMetrics';
import { benchSdkLogger, type GpuModel } from './pipeline/standIn';
import { f0, pct, quantile, table } from './pipeline/stats';
import { startBenchSystem, type BenchSystem } from './pipeline/system';
import type { TemporalStore } from './pipeline/variantStack';

// ---------------------------------------------------------------------------------------------------------------
// options

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
function num(name: string, fallback?: number): number | undefined {
  const v = arg(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number, got ${v}`);
  return n;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const ITEMS = num('items', 200)!;
const WORKERS = num('workers', 4)!;
const SLOTS = num('slots', 8)!;
const ZERO_WORKERS = num('zero-workers', 1)!;
const INLINE = flag('inline');
const H200: GpuModel = { encodeMs: num('encode-ms', 24.5)!, decodeMs: num('decode-ms', 20)! };
const ZERO: GpuModel = { encodeMs: 0, decodeMs: 0 };
const CONCEPTS = ['wall', 'floor', 'sofa'];
const SCENARIOS = (arg('scenarios') ?? `1w,${WORKERS}w,zero`).split(',');
const ORCH_OPTIONS: Partial<WorkerOptions> = {
  ...(num('wft-slots') !== undefined ? { maxConcurrentWorkflowTaskExecutions: num('wft-slots') } : {}),
  ...(num('wft-pollers') !== undefined ? { workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: num('wft-pollers')! } } : {}),
  ...(num('orch-act-slots') !== undefined ? { maxConcurrentActivityTaskExecutions: num('orch-act-slots') } : {}),
};
const TEMPORAL_STORE: TemporalStore = flag('temporal-memory') ? 'memory' : flag('temporal-rollback') ? 'rollback' : 'wal';
const TEMPORAL_ARGS = process.argv.filter((a) => a.startsWith('--temporal-arg=')).map((a) => a.slice('--temporal-arg='.length));
const WAIT_QUIET_S = num('wait-quiet', 0)!;
const DUMP = arg('dump');

const say = (msg: string) => console.log(`[bench] ${msg}`);
const isGpu = (m: GpuModel) => m.encodeMs + m.decodeMs > 0;

/** The scenarios of --scenarios: `zero`, `<N>w`, optionally `:<J>j` to split the items over J concurrent jobs. */
function plan(): Scenario[] {
  return SCENARIOS.map((name) => {
    const m = /^(zero|(\d+)w)(?::(\d+)j)?$/.exec(name);
    if (!m) throw new Error(`--scenarios: unknown scenario ${name} (1w, ${WORKERS}w, zero, optionally :<J>j)`);
    const jobs = m[3] ? Number(m[3]) : 1;
    if (m[1] === 'zero') return { name, workers: ZERO_WORKERS, model: ZERO, items: ITEMS, jobs };
    return { name, workers: Number(m[2]), model: H200, items: ITEMS, jobs };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// report: the table and the targets (the per-scenario profile is pipeline/profile.ts)

function report(outcomes: Outcome[], sys: BenchSystem): void {
  const one = outcomes.find((o) => o.s.name === '1w');
  const many = outcomes.find((o) => o.s.name === `${WORKERS}w`);
  const zero = outcomes.find((o) => o.s.name === 'zero');
  const label = (o: Outcome) =>
    `${isGpu(o.s.model) ? 'H200 stand-in' : 'zero-cost'}, ${o.s.workers} worker${o.s.workers > 1 ? 's' : ''}` +
    (o.s.jobs > 1 ? `, ${o.s.jobs} jobs` : '');
  const rows = outcomes.map((o) => [
    label(o),
    String(o.done),
    o.wallS.toFixed(2),
    o.itemsPerS.toFixed(1),
    isGpu(o.s.model) ? pct(o.fleetBusy) : 'n/a',
    f0(quantile(o.latency, 0.5)),
    f0(quantile(o.latency, 0.99)),
    o === many && one ? `${(o.itemsPerS / one.itemsPerS).toFixed(2)}×` : '—',
    String(o.events),
  ]);
  console.log('');
  console.log(table(['scenario', 'items', 'wall s', 'items/s', 'GPU busy', 'p50 ms', 'p99 ms', 'vs 1w', 'history events'], rows));
  console.log('');
  const itemMs = H200.encodeMs + H200.decodeMs * CONCEPTS.length;
  console.log(
    `GPU model: ${H200.encodeMs} ms encode + ${H200.decodeMs} ms × ${CONCEPTS.length} concepts = ${itemMs} ms/item -> ${(1000 / itemMs).toFixed(2)} items/s per GPU at 100 % busy`,
  );
  console.log(
    'wall = execute accepted by the workflow (update-accepted event) -> last applyRule completion; items/s = items / wall; ' +
      "latency = the same start -> the item's applyRule completion (seen by the stand-in); GPU busy = Σ GPU time / (workers × first GPU start -> last completion)",
  );
  console.log('');
  const targets: string[][] = [];
  const mark = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  if (one) targets.push(['GPU busy ≥ 95 % with one worker', pct(one.fleetBusy), mark(one.fleetBusy >= 0.95)]);
  if (one && many) {
    const r = many.itemsPerS / one.itemsPerS;
    targets.push([
      `${WORKERS} workers ≥ ${(0.9 * WORKERS).toFixed(1)}× one worker's items/s`,
      `${r.toFixed(2)}×`,
      mark(r >= 0.9 * WORKERS),
    ]);
  }
  if (zero) targets.push(['zero-cost ≥ 100 items/s', `${zero.itemsPerS.toFixed(1)} items/s`, mark(zero.itemsPerS >= 100)]);
  if (targets.length) console.log(table(['target', 'reached', ''], targets));
  else console.log('(no target applies to these scenarios: 1w, 4w and zero are the targets)');
  console.log('');
  for (const o of outcomes) console.log(describeOutcome(o) + '\n');
  const store = { wal: 'SQLite file, WAL + synchronous=normal', rollback: 'SQLite file, rollback journal', memory: 'in-memory store' };
  console.log(
    `setup: ${ITEMS} items, concepts ${CONCEPTS.join('/')}, no protect; GPU workers ${INLINE ? 'in the bench process (--inline)' : 'in child processes'}, ${SLOTS} activity slots each; app DB ${sys.dbKind}; orchestration worker options ${JSON.stringify(ORCH_OPTIONS)}; ` +
      `Temporal dev server ${store[TEMPORAL_STORE]}${TEMPORAL_ARGS.length ? ` + ${TEMPORAL_ARGS.join(' ')}` : ''}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (flag('temporal-wal')) say('--temporal-wal: WAL is now the dev server default (scripts/stack); --temporal-rollback compares');
  const scenarios = plan();
  // The bench decides when workers stop (Ctrl-C runs cleanup()), not the SDK's own signal handlers.
  const metrics = await metricsAddress();
  Runtime.install({
    logger: benchSdkLogger(),
    shutdownSignals: [],
    telemetryOptions: { metrics: { prometheus: { bindAddress: metrics } } },
  });
  const sys = await startBenchSystem({
    dbUrl: arg('db'),
    temporalStore: TEMPORAL_STORE,
    temporalArgs: TEMPORAL_ARGS,
    inFlight: num('in-flight'),
    orchestrationOptions: ORCH_OPTIONS,
    say,
  });
  const run: RunSettings = { sys, metrics, inline: INLINE, slots: SLOTS, concepts: CONCEPTS };

  say('warm-up job (zero-cost, 20 items; not reported)…');
  await runScenario(run, { name: 'warmup', workers: 1, model: ZERO, items: 20, jobs: 1 });

  const outcomes: Outcome[] = [];
  for (const s of scenarios) {
    if (WAIT_QUIET_S > 0) {
      const busy = await waitForQuiet(WAIT_QUIET_S);
      say(`machine ${busy.toFixed(0)} % busy (of ${cpus().length * 100} %) in the second before ${s.name}`);
    }
    const what = `${s.items} items${s.jobs > 1 ? ` in ${s.jobs} jobs` : ''}, ${s.workers} GPU worker(s)`;
    say(`${s.name}: ${what}, ${isGpu(s.model) ? 'H200 stand-in' : 'zero-cost'}…`);
    const o = await runScenario(run, s);
    say(`${s.name}: ${o.itemsPerS.toFixed(1)} items/s over ${o.wallS.toFixed(2)} s`);
    outcomes.push(o);
  }
  report(outcomes, sys);
  if (DUMP) {
    const dump = outcomes.map(({ s, jobIds, t0, records, history }) => ({
      scenario: s.name,
      workers: s.workers,
      jobIds,
      t0,
      records,
      history,
    }));
    writeFileSync(DUMP, JSON.stringify(dump));
    say(`activity records written to ${DUMP}`);
  }
}

handleExits();
main()
  .then(() => cleanup())
  .then(() => process.exit(0))
  .catch(async (err) => {
    if (!isStopping()) console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    await cleanup();
    process.exit(1);
  });
