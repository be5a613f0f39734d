import assert from 'node:assert/strict';
import type { ManagedProcess } from '../../scripts/stack/process';
import { encodeScene, interiorScene } from '../../scripts/demo/scenes';
import { createTestDatabase } from '../support/databases';
import { spawnWorker } from '../support/processes';
import { getFreePort } from '../support/services';
import { startTestSystem, uploadAll, waitForJob, type TestSystem } from '../support/stack';

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** Reads `read()` until `ready(text)` holds or 15 s pass, and returns the last text. */
async function eventually(read: () => Promise<string>, ready: (text: string) => boolean): Promise<string> {
  const until = Date.now() + 15_000;
  for (;;) {
    const text = await read();
    if (ready(text) || Date.now() > until) return text;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The value of the first sample of `metric` whose labels include every `labels` pair. */
function sample(text: string, metric: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== metric) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}

describe('observability: metrics and logs of the API and the three workers', function () {
  this.timeout(240_000);
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let system: TestSystem;
  const procs: ManagedProcess[] = [];
  let ports: { worker: number; gpu: number; cpu: number };

  before(async () => {
    db = await createTestDatabase('sqlite');
    system = await startTestSystem(db, { gpu: false, cpu: false, orchestration: false });
    ports = { worker: await getFreePort(), gpu: await getFreePort(), cpu: await getFreePort() };
    procs.push(await spawnWorker('worker', system, { DATABASE_URL: db.url, METRICS_PORT: String(ports.worker) }));
    procs.push(await spawnWorker('gpu-worker', system, { METRICS_PORT: String(ports.gpu), LOG_LEVEL: 'debug' }));
    procs.push(await spawnWorker('cpu-worker', system, { METRICS_PORT: String(ports.cpu) }));
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop(2000)));
    await system?.close();
    await db?.drop();
  });

  it('exposes HTTP, job, activity, item and model series while a job runs, and logs carry the ids', async () => {
    const { token } = await system.api.signUp();
    const files = [await encodeScene(interiorScene(0), 'png'), Buffer.from('not an image')];
    const created = (
      await system.api.request('POST', '/jobs', {
        token,
        body: { preset_id: 'interior', item_count: 2, content_type: 'image/png', sizes: files.map((f) => f.length) },
      })
    ).body.data;
    await uploadAll(created.uploads, files);
    await system.api.request('POST', `/jobs/${created.job.id}/confirm-upload`, { token });
    await system.api.request('POST', `/jobs/${created.job.id}/execute`, { token, body: { concepts: ['wall'] } });
    const view = await waitForJob(system.api, token, created.job.id, (v) => v.status === 'done');
    assert.deepEqual(
      view.items.map((i: any) => i.status),
      ['done', 'failed'],
    );

    // Each series is checked once it is there: the DB mirror's last flush and the Core exporter trail the job's end.
    const expectations = {
      api: [
        (t: string) => sample(t, 'http_request_duration_seconds_count', { route: '/jobs', method: 'POST', status: '201' })! >= 1,
        (t: string) => sample(t, 's3_jobs', { status: 'done' }) === 1,
      ],
      gpu: [
        (t: string) => sample(t, 's3_activity_completed_total', { activityType: 'segment' })! >= 1, // items processed
        (t: string) => sample(t, 's3_activity_failed_total', { activityType: 'segment', failure_type: 'INVALID_IMAGE' })! >= 1, // failed
        (t: string) => sample(t, 's3_activity_duration_count', { activityType: 'segment' })! >= 2, // activity durations
        (t: string) => sample(t, 's3_model_load')! > 0, // model load time
        (t: string) => sample(t, 's3_gpu_batch_size_count')! >= 1, // batch size histogram
        (t: string) => sample(t, 's3_gpu_batch_queue_wait_count')! >= 1, // queue wait
        (t: string) => sample(t, 's3_gpu_batch_model_time_count')! >= 1, // model time per batch
        (t: string) => sample(t, 'temporal_activity_execution_latency_count', { activity_type: 'segment' })! >= 2, // SDK metrics
      ],
      cpu: [
        (t: string) => sample(t, 's3_activity_completed_total', { activityType: 'applyRule' })! >= 1,
        (t: string) => sample(t, 'temporal_activity_execution_latency_count', { activity_type: 'applyRule' })! >= 1,
        (t: string) => sample(t, 's3_activity_completed_total', { activityType: 'segment' }) === undefined, // GPU work only on GPUs
      ],
      worker: [
        (t: string) => sample(t, 's3_activity_completed_total', { activityType: 'settleCredits' })! >= 1,
        (t: string) => sample(t, 'temporal_workflow_completed_total')! >= 1,
      ],
    };
    const sources = {
      api: async () => (await system.api.request('GET', '/metrics')).body as string,
      gpu: () => scrape(ports.gpu),
      cpu: () => scrape(ports.cpu),
      worker: () => scrape(ports.worker),
    };
    for (const [name, checks] of Object.entries(expectations) as [keyof typeof sources, ((t: string) => boolean)[]][]) {
      const text = await eventually(sources[name], (t) => checks.every((c) => c(t)));
      checks.forEach((check, i) => assert.ok(check(text), `${name} metrics check #${i}: ${check.toString()}`));
    }

    const logs = procs[1].recentOutput().join('\n');
    assert.match(logs, new RegExp(`"workflowId":"job-${created.job.id}"`), 'GPU worker log lines carry the workflow (job) id');
  });
});
