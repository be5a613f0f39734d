/**
 * The profile part of bench:pipeline's report, per scenario: where the time went — the execute round trip, history
 * size, workflow round trips and task-queue waits, GPU busy per worker, CPU per process and thread, the SDK core's
 * metrics on both worker sides, and the Temporal server's own persistence and lock figures.
 */
import type { Outcome } from './scenario';
import { histogram, requestLatencies, type Samples } from './sdkMetrics';
import { f0, f1, pct, quantile } from './stats';

/** The four gRPC operations that took the most time, with calls and mean latency. */
function topOperations(s: Samples): string {
  return requestLatencies(s)
    .slice(0, 4)
    .map((r) => `${r.operation} ${r.count}× ${f1(r.avgMs)} ms`)
    .join(', ');
}

/** The Temporal server's view of the run (its metrics are in seconds). */
function serverLines(sv: Samples, done: number): string[] {
  const ms = (h: { avgMs: number }) => f1(1000 * h.avgMs);
  const writes = histogram(sv, 'persistence_latency', ['operation=UpdateWorkflowExecution']);
  const lock = histogram(sv, 'cache_latency', ['operation=HistoryCacheGetOrCreate']);
  const hist = (op: string) => histogram(sv, 'service_latency', [`operation=${op}`, 'service_name=history']);
  const persistence = requestLatencies(sv, 'persistence_latency')
    .slice(0, 4)
    .map((r) => `${r.operation} ${r.count}× ${f1(1000 * r.avgMs)} ms`)
    .join(', ');
  return [
    `  Temporal server (its /metrics): ${writes.count} workflow mutable-state writes (${f1(writes.count / done)} per item), mean ${ms(writes)} ms; ` +
      `wait for the workflow's lock (history cache GetOrCreate) mean ${ms(lock)} ms over ${lock.count} acquisitions`,
    `    history service: RecordActivityTaskStarted ${ms(hist('RecordActivityTaskStarted'))} ms, RespondActivityTaskCompleted ${ms(hist('RespondActivityTaskCompleted'))} ms, ` +
      `RecordWorkflowTaskStarted ${ms(hist('RecordWorkflowTaskStarted'))} ms, RespondWorkflowTaskCompleted ${ms(hist('RespondWorkflowTaskCompleted'))} ms (means)`,
    `    persistence, most time first: ${persistence}`,
  ];
}

/** The profile of one scenario, as indented lines under its name. */
export function describeOutcome(o: Outcome): string {
  const lines: string[] = [];
  const c = o.cpu;
  const procs = Object.entries(c.procs)
    .map(([k, v]) => `${k} ${f0(v)} %`)
    .join(', ');
  const threads = Object.entries(c.threads)
    .filter(([, v]) => v >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${f0(v)} %`)
    .join(', ');
  lines.push(
    `${o.s.name}: job${o.jobIds.length > 1 ? 's' : ''} ${o.jobIds.join(', ')} — ${o.done} done, ${o.failed} failed, ${o.retries} retried attempts; JOB_MAX_IN_FLIGHT ${o.inFlight}`,
  );
  lines.push(
    `  execute: accepted by the workflow ${f0(o.acceptedMs)} ms after the request (t0), HTTP 202 after ${f0(o.executeMs)} ms; job settled ${f0(o.settledAfterMs)} ms after the last item (workflow clock)`,
  );
  lines.push(
    `  history: ${o.events} events, ${o.workflowTasks} workflow tasks (${f1((2 * o.done) / o.workflowTasks)} GPU activity completions per workflow task)`,
  );
  lines.push(
    `  workflow round trip (segment done -> applyRule scheduled): p50 ${f1(quantile(o.hop, 0.5))} ms, p99 ${f1(quantile(o.hop, 0.99))} ms`,
  );
  lines.push(
    `  task-queue wait (scheduled -> started): p50 ${f1(quantile(o.queueWait, 0.5))} ms, p99 ${f1(quantile(o.queueWait, 0.99))} ms`,
  );
  if (Number.isFinite(o.meanBatch))
    lines.push(
      `  GPU batches (GPU_MAX_BATCH ${o.s.model.maxBatch}, wait ${o.s.model.waitMs} ms): mean ${f1(o.meanBatch)} images per batch; batch-queue wait p50 ${f1(quantile(o.batchWait, 0.5))} ms, p99 ${f1(quantile(o.batchWait, 0.99))} ms`,
    );
  if (o.workerBusy.length)
    lines.push(`  per-worker GPU busy: ${o.workerBusy.map((b) => pct(b)).join(', ')}; segments per worker: ${o.perWorkerItems.join(', ')}`);
  else lines.push(`  activities per worker (segments): ${o.perWorkerItems.join(', ')}`);
  lines.push(
    `  CPU over ${f1(c.wallS)} s (% of one core; ${c.cores} cores = ${c.cores * 100} %): machine ${f0(c.machine)} %, ${procs}, other processes ${f0(c.others)} %`,
  );
  lines.push(`  bench process threads: ${threads}; event-loop delay p99 ${f1(o.loopP99)} ms`);
  const wft = histogram(o.orchSdk, 'temporal_workflow_task_execution_latency');
  const wfs = histogram(o.orchSdk, 'temporal_workflow_task_schedule_to_start_latency');
  lines.push(
    `  orchestration worker (SDK metrics): ${wft.count} workflow activations, mean ${f1(wft.avgMs)} ms in the worker; WFT schedule-to-start mean ${f1(wfs.avgMs)} ms`,
  );
  lines.push(`    gRPC as seen by the bench process: ${topOperations(o.orchSdk)}`);
  if (o.gpuSdk.size) {
    const ast = histogram(o.gpuSdk, 'temporal_activity_schedule_to_start_latency');
    lines.push(
      `  GPU + CPU stand-in workers (SDK metrics): activity schedule-to-start mean ${f1(ast.avgMs)} ms; gRPC: ${topOperations(o.gpuSdk)}`,
    );
  }
  if (o.server.size) lines.push(...serverLines(o.server, o.done));
  return lines.join('\n');
}
