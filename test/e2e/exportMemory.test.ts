import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import type { ExportBuildInput } from '../../domain/exports';
import { exportKey } from '../../domain/exports';
import type { ManagedProcess } from '../../scripts/stack/process';
import { EXPORT_WORKFLOW_TYPE, exportWorkflowId, type ExportOutcome } from '../../workflows/variantContract';
import { createTestDatabase, type TestDatabase } from '../support/databases';
import { spawnWorker } from '../support/processes';
import { startTestSystem, type TestSystem } from '../support/stack';

const RESULTS = 200;
const MIB = 1024 * 1024;

/** Resident set size of a process, from the kernel's own accounting. */
function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

describe('zip export memory (CPU worker as a child process, 200 results of ~2 MP)', () => {
  let db: TestDatabase & { drop(): Promise<void> };
  let stack: TestSystem;
  let worker: ManagedProcess;
  before(async function () {
    this.timeout(180_000);
    db = await createTestDatabase('sqlite');
    stack = await startTestSystem(db, { gpu: false, cpu: false });
    worker = await spawnWorker('cpu-worker', stack);
  });
  after(async () => {
    await worker?.stop();
    await stack?.close();
    await db?.drop();
  });

  async function runExport(id: string, files: { name: string; key: string }[]): Promise<ExportOutcome> {
    const build: ExportBuildInput = {
      template: 'zip',
      format: 'jpeg',
      targetKey: exportKey('memory-user', 'memory-job', id, 'zip'),
      options: { columns: 3, max_side: 4096, background: '#FFFFFF', include_masks: false, labels: false },
      headers: [],
      rows: [],
      files,
      manifest: { items: files.map((f) => f.name) },
    };
    const handle = await stack.client.workflow.start(EXPORT_WORKFLOW_TYPE, {
      workflowId: exportWorkflowId(id),
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      args: [{ exportId: id, userId: 'memory-user', jobId: 'memory-job', build, cpuTaskQueue: stack.config.CPU_TASK_QUEUE }],
    });
    return handle.result();
  }

  it('streams the zip to storage: the worker’s RSS grows by less than 100 MiB for a zip several times that size', async function () {
    this.timeout(600_000);
    // Noise does not compress: every result is a ~2 MP JPEG (q92, as output_format jpeg writes) of about 1.5 MB.
    const [w, h] = [1600, 1200];
    const noise = await sharp(randomBytes(w * h * 3), { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 92, chromaSubsampling: '4:4:4' })
      .toBuffer();
    const keys = Array.from({ length: RESULTS }, (_, i) => `outputs/memory-user/memory-job/${i}_result.jpg`);
    for (let i = 0; i < keys.length; i += 10)
      await Promise.all(keys.slice(i, i + 10).map((k) => stack.storage.put(k, noise, 'image/jpeg')));
    const files = keys.map((key, i) => ({ name: `${i}.jpg`, key }));

    // A small export first, so code loading and first-use allocations are not counted as growth.
    const warm = await runExport(`warm-${Date.now()}`, files.slice(0, 3));
    assert.ok(warm.ok);
    const baseline = rssBytes(worker.pid);
    let peak = baseline;
    const timer = setInterval(() => (peak = Math.max(peak, rssBytes(worker.pid))), 50);
    let outcome: ExportOutcome;
    try {
      outcome = await runExport(`big-${Date.now()}`, files);
    } finally {
      clearInterval(timer);
    }
    assert.ok(outcome.ok, JSON.stringify(outcome));
    const total = noise.length * RESULTS;
    assert.ok(outcome.result.bytes > total, `zip ${outcome.result.bytes} B holds every result (${total} B)`);
    const head = await stack.storage.head(outcome.result.key);
    assert.equal(head?.size, outcome.result.bytes);
    const growth = peak - baseline;
    console.log(
      `      zip ${(outcome.result.bytes / MIB).toFixed(0)} MiB of ${RESULTS} × ${(noise.length / MIB).toFixed(2)} MiB; ` +
        `worker RSS ${(baseline / MIB).toFixed(0)} -> peak ${(peak / MIB).toFixed(0)} MiB (growth ${(growth / MIB).toFixed(1)} MiB)`,
    );
    assert.ok(total > 2 * 100 * MIB, 'the zip is far larger than the bound, so buffering it would fail the test');
    assert.ok(growth < 100 * MIB, `RSS grew by ${(growth / MIB).toFixed(1)} MiB`);
  });
});
