/**
 * One bench:pipeline scenario: its own API, fleet of stand-in GPU workers on a fresh GPU task queue and stand-in CPU
 * worker on a fresh CPU task queue, its jobs
 * created and uploaded, then executed over HTTP while CPU, event-loop delay and both sides' metrics are sampled; the
 * outcome combines the stand-ins' activity records, the jobs' histories and those samples.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { jobWorkflowId } from '../../workflows/contract';
import { diff, snapshot, type CpuReport, type CpuSnapshot } from './cpu';
import { activityFigures, type ActivityFigures } from './figures';
import { startFleet, type Fleet } from './fleet';
import { eventTimeline, executeAcceptedMs, workflowTaskCount } from './history';
import { createJobDriver } from './jobDriver';
import { delta, merge, scrape, type Samples } from './sdkMetrics';
import type { CpuModel } from './cpuStandIn';
import type { ActivityRecord, GpuModel } from './standIn';
import { sum } from './stats';
import { startScenarioApi, type BenchSystem } from './system';

/** What one scenario runs. */
export interface Scenario {
  name: string;
  workers: number;
  model: GpuModel;
  /** The CPU fleet serving applyRule for this scenario. */
  cpu: CpuModel;
  items: number;
  /** Jobs the items are split over (1, or many small jobs as in `1w:40j@16`). */
  jobs: number;
  /** JOB_MAX_IN_FLIGHT of this scenario's jobs. */
  inFlight: number;
}

/** The settings shared by every scenario of a run. */
export interface RunSettings {
  sys: BenchSystem;
  /** This process's Prometheus endpoint of the Temporal SDK core. */
  metrics: string;
  /** Stand-in GPU workers in this process instead of child processes. */
  inline: boolean;
  /** maxConcurrentActivityTaskExecutions per GPU worker. */
  slots: number;
  concepts: string[];
}

/** Everything measured in one scenario. */
export interface Outcome extends ActivityFigures {
  s: Scenario;
  jobIds: string[];
  inFlight: number;
  done: number;
  failed: number;
  /** execute request sent -> HTTP 202 received. */
  executeMs: number;
  /** execute request sent -> the workflow accepted the update (t0). */
  acceptedMs: number;
  settledAfterMs: number;
  events: number;
  workflowTasks: number;
  cpu: CpuReport;
  loopP99: number;
  records: ActivityRecord[];
  /** SDK metrics over the run: this process (orchestration worker; + stand-ins when inline), the GPU children. */
  orchSdk: Samples;
  gpuSdk: Samples;
  /** The Temporal server's own metrics over the run (seconds). */
  server: Samples;
  /** The (first) job's history as [event kind, epoch ms] (for --dump). */
  history: [string, number][];
}

/** Runs scenario `s` to the end of its jobs and stops what it started (its API and fleet). */
export async function runScenario(run: RunSettings, s: Scenario): Promise<Outcome> {
  const { sys } = run;
  const tag = `${s.name.replace(/\W/g, '')}-${Math.random().toString(36).slice(2, 8)}`;
  const queues = { gpu: `bench-gpu-${tag}`, cpu: `bench-cpu-${tag}` };
  const api = await startScenarioApi(sys, queues, s.inFlight);
  let fleet: Fleet | undefined;
  let cpuFleet: Fleet | undefined;
  try {
    const where = { inline: run.inline, address: sys.env.TEMPORAL_ADDRESS, namespace: sys.env.TEMPORAL_NAMESPACE };
    // A batching worker needs a full batch waiting while one runs: at least 2 × GPU_MAX_BATCH slots.
    const slots = Math.max(run.slots, 2 * s.model.maxBatch);
    fleet = await startFleet({ ...where, count: s.workers, taskQueue: queues.gpu, role: { kind: 'gpu', model: s.model, slots } });
    cpuFleet = await startFleet({ ...where, count: 1, taskQueue: queues.cpu, role: { kind: 'cpu', model: s.cpu } });
    // Jobs go round-robin over the run's users: one studio user may have only 10 active jobs.
    const drivers = sys.tokens.map((token) => createJobDriver(api.url, token));
    const driverOf = (j: number) => drivers[j % drivers.length];
    // The items split over `s.jobs` jobs (one job, or many small ones).
    const sizes = Array.from({ length: s.jobs }, (_, j) => Math.floor(s.items / s.jobs) + (j < s.items % s.jobs ? 1 : 0));
    const jobIds: string[] = [];
    for (const [j, size] of sizes.entries()) jobIds.push(await driverOf(j).prepare(size, sys.images));

    const groups = {
      temporal: [sys.stack.temporal.process.pid],
      bench: [process.pid],
      'gpu workers': fleet.pids,
      'cpu workers': cpuFleet.pids,
      seaweedfs: [sys.stack.s3.process.pid],
      ...(sys.dbPids.length ? { mariadb: sys.dbPids } : {}),
    };
    const loop = monitorEventLoopDelay({ resolution: 10 });
    const sdkBefore = await scrape(run.metrics);
    const serverBefore = sys.serverMetrics ? await scrape(sys.serverMetrics) : new Map();
    // CPU snapshots every 100 ms: the window is cut at the last item's completion, not at the (later) end event.
    const before = snapshot(groups);
    const snaps: CpuSnapshot[] = [before];
    const sampler = setInterval(() => snaps.push(snapshot(groups)), 100);
    loop.enable();
    const runs = await Promise.all(jobIds.map((jobId, j) => driverOf(j).run(jobId, run.concepts)));
    loop.disable();
    clearInterval(sampler);
    snaps.push(snapshot(groups));
    const handles = jobIds.map((id) => api.client.workflow.getHandle(jobWorkflowId(id)));
    await Promise.all(handles.map((h) => h.result()));
    const orchSdk = delta(sdkBefore, await scrape(run.metrics));
    const server: Samples = sys.serverMetrics ? delta(serverBefore, await scrape(sys.serverMetrics)) : new Map();
    const [gpuStopped, cpuStopped] = await Promise.all([fleet.stop(), cpuFleet.stop()]);
    fleet = undefined;
    cpuFleet = undefined;
    const stopped = { records: [...gpuStopped.records, ...cpuStopped.records], sdk: [...gpuStopped.sdk, ...cpuStopped.sdk] };
    const histories = await Promise.all(handles.map(async (h) => (await h.fetchHistory()).events ?? []));
    const t0Of = new Map(runs.map((r, j) => [r.jobId, executeAcceptedMs(histories[j]) ?? r.t0]));
    const records = stopped.records.filter((r) => t0Of.has(r.jobId));
    const figures = activityFigures(records, t0Of, s.workers);
    const events = histories.flat();
    const finished = Math.max(...runs.map((r) => (r.view.finished_at ? Date.parse(r.view.finished_at) : NaN)));
    return {
      ...figures,
      s,
      jobIds,
      inFlight: api.config.JOB_MAX_IN_FLIGHT,
      done: sum(runs.map((r) => r.view.progress.done)),
      failed: sum(runs.map((r) => r.view.progress.failed)),
      executeMs: Math.max(...runs.map((r) => r.t0 - r.sent)),
      acceptedMs: Math.max(...runs.map((r) => t0Of.get(r.jobId)! - r.sent)),
      settledAfterMs: finished - figures.endAll,
      events: events.length,
      workflowTasks: workflowTaskCount(events),
      cpu: diff(before, snaps.find((x) => x.at >= figures.endAll) ?? snaps[snaps.length - 1]),
      loopP99: loop.percentile(99) / 1e6,
      records,
      orchSdk,
      gpuSdk: merge(stopped.sdk),
      server,
      history: eventTimeline(histories[0]),
    };
  } finally {
    if (fleet) fleet.kill();
    if (cpuFleet) cpuFleet.kill();
    await api.close();
  }
}
