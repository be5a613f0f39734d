/**
 * `npm run bench:pipeline [-- options]`: jobs of N items (200) through the real stack — Temporal dev server,
 * SeaweedFS, the API over HTTP, the orchestration worker — with calibrated stand-in GPU workers (bench/pipeline/
 * standIn.ts: one serialized "GPU" per worker behind the GPU worker's own dynamic batcher, charging the H200 cost of
 * each batch size, gpuCurve.ts) and a stand-in CPU worker on the CPU queue for applyRule (cpuStandIn.ts: the measured
 * CPU-seconds per item as a sleep on enough cores), 3 concepts. Scenarios: 1 and 4 GPU workers unbatched and batched,
 * 40 concurrent 5-item jobs batched, and a zero-cost model (pure orchestration). Prints items/s, GPU busy, mean batch
 * size and batch-queue wait, p50/p99 item latency, history size, CPU per process, and the targets with PASS/MISS; the
 * last line is for scripts: `batched: 1w <items/s> items/s <busy>% busy, 4w <ratio>x, 40x5 <items/s> items/s`.
 *
 * Options:
 *   --items N            items per scenario without its own `/<items>` (500, the studio plan's most: a GPU worker's steady state; filling
 *                        and draining the pipeline — the first batch's wait, the last item's CPU stage — costs a job
 *                        ~1 s once, which a 200-item job at ~30 items/s pays as ~13 % of its wall time)
 *   --workers N          GPU workers of the fleet scenarios (4)
 *   --slots N            least maxConcurrentActivityTaskExecutions per GPU worker (8; a batching one gets ≥ 2 × batch)
 *   --max-batch M        GPU_MAX_BATCH of the batched default scenarios (16)
 *   --batch-wait-ms X    GPU_BATCH_WAIT_MS (5)
 *   --cpu-s X            CPU-seconds per item of applyRule on the CPU stand-in (0.6, issue 10's target)
 *   --cpu-cores N        cores of the CPU stand-in (default: enough for the scenario's GPU capacity, + 25 %)
 *   --in-flight N        JOB_MAX_IN_FLIGHT for every scenario (default: the config's 64 unbatched; batched, enough
 *                        for the GPU capacity × (CPU time + 2 s), at most 256)
 *   --zero-workers N     GPU workers of the zero-cost scenario (1)
 *   --scenarios a,b,c    of `<N>w` or `zero`, optionally `:<J>j` (the items split over J concurrent jobs), `@<M>`
 *                        (GPU_MAX_BATCH M) and `/<items>`; default 1w,4w,1w@16,4w@16,1w@16/200,1w:40j@16/200,zero
 *                        (40 concurrent 5-item jobs are compared with one 200-item job)
 *   --inline             run the stand-in workers in this process instead of child processes
 *   --wft-slots N        orchestration worker maxConcurrentWorkflowTaskExecutions
 *   --wft-pollers N      orchestration worker workflow task pollers (simple maximum)
 *   --orch-act-slots N   orchestration worker maxConcurrentActivityTaskExecutions
 *   --db URL             mysql://user@host:port/db: run on a temporary database of that server (default: SQLite file)
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
import { runScenario, type Outcome, type RunSettings, type Scenario } from './pipeline/scenario';
import { metricsAddress } from './pipeline/sdkMetrics';
import { PLANS } from '../domain/plans';
import { parseConfig } from '../domain/config';
import { gpuItemsPerS } from './pipeline/gpuCurve';
import { report } from './pipeline/report';
import { benchSdkLogger, type GpuModel } from './pipeline/standIn';
import { startBenchSystem } from './pipeline/system';
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

const ITEMS = num('items', 500)!;
const WORKERS = num('workers', 4)!;
const SLOTS = num('slots', 8)!;
const ZERO_WORKERS = num('zero-workers', 1)!;
const INLINE = flag('inline');
const MAX_BATCH = num('max-batch', 16)!;
const BATCH_WAIT_MS = num('batch-wait-ms', 5)!;
const CPU_S = num('cpu-s', 0.6)!;
const CPU_CORES = num('cpu-cores');
const IN_FLIGHT = num('in-flight');
const CONCEPTS = ['wall', 'floor', 'sofa'];
const SCENARIOS = (
  arg('scenarios') ?? `1w,${WORKERS}w,1w@${MAX_BATCH},${WORKERS}w@${MAX_BATCH},1w@${MAX_BATCH}/200,1w:40j@${MAX_BATCH}/200,zero`
).split(',');
const ORCH_OPTIONS: Partial<WorkerOptions> = {
  ...(num('wft-slots') !== undefined ? { maxConcurrentWorkflowTaskExecutions: num('wft-slots') } : {}),
  ...(num('wft-pollers') !== undefined ? { workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: num('wft-pollers')! } } : {}),
  ...(num('orch-act-slots') !== undefined ? { maxConcurrentActivityTaskExecutions: num('orch-act-slots') } : {}),
};
const TEMPORAL_STORE: TemporalStore = flag('temporal-memory') ? 'memory' : flag('temporal-rollback') ? 'rollback' : 'wal';
const TEMPORAL_ARGS = process.argv.filter((a) => a.startsWith('--temporal-arg=')).map((a) => a.slice('--temporal-arg='.length));
const WAIT_QUIET_S = num('wait-quiet', 0)!;
const DUMP = arg('dump');
/** The config's JOB_MAX_IN_FLIGHT default (the unbatched scenarios run with it, as today). */
const DEFAULT_IN_FLIGHT = 64;

const say = (msg: string) => console.log(`[bench] ${msg}`);

/** The scenarios of --scenarios: `zero` or `<N>w`, optionally `:<J>j` (J concurrent jobs) and `@<M>` (GPU_MAX_BATCH). */
function plan(): Scenario[] {
  return SCENARIOS.map((name) => {
    const m = /^(zero|(\d+)w)(?::(\d+)j)?(?:@(\d+))?(?:\/(\d+))?$/.exec(name);
    if (!m) throw new Error(`--scenarios: unknown scenario ${name} (1w, ${WORKERS}w, zero, optionally :<J>j, @<batch> and /<items>)`);
    const jobs = m[3] ? Number(m[3]) : 1;
    const maxBatch = m[4] ? Number(m[4]) : 1;
    const items = m[5] ? Number(m[5]) : ITEMS;
    if (m[1] === 'zero') {
      const model: GpuModel = { kind: 'zero', maxBatch, waitMs: BATCH_WAIT_MS };
      return {
        name,
        workers: ZERO_WORKERS,
        model,
        cpu: { cpuS: 0, cores: 1 },
        items,
        jobs,
        inFlight: IN_FLIGHT ?? DEFAULT_IN_FLIGHT,
      };
    }
    const workers = Number(m[2]);
    const capacity = workers * gpuItemsPerS(maxBatch, CONCEPTS.length);
    // Enough CPU to keep up with the GPUs: CPU-seconds per item × items/s, + 25 %.
    const cores = CPU_CORES ?? Math.max(1, Math.ceil(1.25 * CPU_S * capacity));
    // Little's law: an item is in flight through its batch wait, its batch, the CPU stage and the workflow hops.
    const batchedInFlight = Math.min(256, Math.max(DEFAULT_IN_FLIGHT, Math.ceil(capacity * (CPU_S + 2))));
    const inFlight = IN_FLIGHT ?? (maxBatch > 1 ? batchedInFlight : DEFAULT_IN_FLIGHT);
    const model: GpuModel = { kind: 'h200', maxBatch, waitMs: BATCH_WAIT_MS };
    return { name, workers, model, cpu: { cpuS: CPU_S, cores }, items, jobs, inFlight };
  });
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
    // Each job is followed by one events stream, and a user may hold only so many active jobs (domain/plans.ts) and
    // open streams (SSE_MAX_STREAMS_PER_USER): enough users for the largest :<J>j scenario under both limits.
    users: Math.ceil(
      Math.max(...scenarios.map((s) => s.jobs)) / Math.min(PLANS.studio.maxActiveJobs, parseConfig({}).SSE_MAX_STREAMS_PER_USER),
    ),
    say,
  });
  const run: RunSettings = { sys, metrics, inline: INLINE, slots: SLOTS, concepts: CONCEPTS };
  const zeroModel: GpuModel = { kind: 'zero', maxBatch: 1, waitMs: 0 };

  say('warm-up job (zero-cost, 20 items; not reported)…');
  await runScenario(run, {
    name: 'warmup',
    workers: 1,
    model: zeroModel,
    cpu: { cpuS: 0, cores: 1 },
    items: 20,
    jobs: 1,
    inFlight: DEFAULT_IN_FLIGHT,
  });

  const outcomes: Outcome[] = [];
  for (const s of scenarios) {
    if (WAIT_QUIET_S > 0) {
      const busy = await waitForQuiet(WAIT_QUIET_S);
      say(`machine ${busy.toFixed(0)} % busy (of ${cpus().length * 100} %) in the second before ${s.name}`);
    }
    const what = `${s.items} items${s.jobs > 1 ? ` in ${s.jobs} jobs` : ''}, ${s.workers} GPU worker(s), GPU_MAX_BATCH ${s.model.maxBatch}`;
    say(
      `${s.name}: ${what}, ${s.model.kind === 'h200' ? `H200 stand-in, CPU stand-in ${s.cpu.cores} cores` : 'zero-cost'}, JOB_MAX_IN_FLIGHT ${s.inFlight}…`,
    );
    const o = await runScenario(run, s);
    say(`${s.name}: ${o.itemsPerS.toFixed(1)} items/s over ${o.wallS.toFixed(2)} s`);
    outcomes.push(o);
  }
  report(outcomes, {
    workers: WORKERS,
    maxBatch: MAX_BATCH,
    concepts: CONCEPTS,
    setup:
      `setup: ${ITEMS} items per scenario unless named /<items>, concepts ${CONCEPTS.join('/')}, no protect; stand-in workers ${INLINE ? 'in the bench process (--inline)' : 'in child processes'}, ` +
      `GPU workers with ≥ ${SLOTS} activity slots (2 × GPU_MAX_BATCH when batching), GPU_BATCH_WAIT_MS ${BATCH_WAIT_MS}; CPU stand-in ${CPU_S} CPU-s per item, ` +
      `${CPU_CORES ?? 'auto'} cores (2 slots each); app DB ${sys.dbKind}; orchestration worker options ${JSON.stringify(ORCH_OPTIONS)}; Temporal dev server ${TEMPORAL_STORE}` +
      (TEMPORAL_ARGS.length ? ` + ${TEMPORAL_ARGS.join(' ')}` : ''),
  });
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
