import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import AdmZip from 'adm-zip';
import sharp from 'sharp';
import { v7 as uuidv7 } from 'uuid';
import { resultKey } from '../../domain/storageKeys';
import { JobItemLog } from '../../entities/JobItemLog';
import { JobLog } from '../../entities/JobLog';
import type { ManagedProcess } from '../../scripts/stack/process';
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

describe('zip export memory through the API (CPU worker as a child process, 200 results of ~2 MP)', () => {
  let db: TestDatabase & { drop(): Promise<void> };
  let stack: TestSystem;
  let worker: ManagedProcess;
  let token: string;
  let userId: string;
  before(async function () {
    this.timeout(180_000);
    db = await createTestDatabase('sqlite');
    // API and orchestration worker in this process; the only CPU worker — the one that builds exports — is a child.
    stack = await startTestSystem(db, { gpu: false, cpu: false });
    worker = await spawnWorker('cpu-worker', stack);
    ({ token, userId } = await stack.api.signUp());
  });
  after(async () => {
    await worker?.stop();
    await stack?.close();
    await db?.drop();
  });

  /**
   * A done job of `results` JPEG results, as the job workflow's mirror leaves it. Seeded rather than run: 200 items
   * through segmentation would cost minutes, and what is measured here is the export, which reads only these rows
   * and the stored results.
   */
  async function seedDoneJob(results: Buffer, count: number): Promise<string> {
    const jobId = uuidv7();
    const now = new Date();
    const keys = Array.from({ length: count }, (_, idx) => resultKey(userId, jobId, idx, 'jpeg'));
    for (let i = 0; i < keys.length; i += 10)
      await Promise.all(keys.slice(i, i + 10).map((k) => stack.storage.put(k, results, 'image/jpeg')));
    await db.ds.getRepository(JobLog).insert({
      id: jobId,
      userId,
      presetId: 'interior',
      status: 'done',
      itemCount: count,
      contentType: 'image/jpeg',
      idempotencyKey: null,
      requestHash: null,
      concepts: ['wall'],
      protect: ['person'],
      params: { operations: [{ concept: 'wall', op: 'recolor', color: '#A3B18A', strength: 1 }], feather_px: 0 },
      reservedAt: now,
      creditsReserved: count,
      creditsCharged: count,
      creditsRefunded: 0,
      errorCode: null,
      errorMessage: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: now,
    });
    const rows = keys.map((key, idx) => ({
      jobId,
      idx,
      status: 'done' as const,
      errorCode: null,
      errorMessage: null,
      resultKey: key,
      previewKey: null,
      masks: null,
      checks: { protected_changed_px: 0, delta_e_to_target: { wall: 1.2 }, coverage: { wall: 0.4 }, mean_lab: { wall: [70, -10, 12] } },
      updatedAt: now,
    }));
    for (let i = 0; i < rows.length; i += 100) await db.ds.getRepository(JobItemLog).insert(rows.slice(i, i + 100));
    return jobId;
  }

  /** POST /jobs/{id}/exports (zip) and GET until it ends, as the app does; `onPoll` runs on every poll. */
  async function exportZip(jobId: string, onPoll: () => void = () => undefined): Promise<any> {
    const res = await stack.api.request('POST', `/jobs/${jobId}/exports`, { token, body: { template: 'zip' } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const until = Date.now() + 540_000;
    for (;;) {
      onPoll();
      const view = await stack.api.request('GET', `/jobs/${jobId}/exports/${res.body.data.id}`, { token });
      assert.equal(view.status, 200, JSON.stringify(view.body));
      if (view.body.data.status === 'done' || view.body.data.status === 'failed') return view.body.data;
      if (Date.now() > until) throw new Error(`export still ${view.body.data.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('streams the zip to storage: the worker’s RSS grows by less than 100 MiB for a zip several times that size', async function () {
    this.timeout(600_000);
    // Noise does not compress: every result is a ~2 MP JPEG (q92, as output_format jpeg writes) of about 3 MB.
    const [w, h] = [1600, 1200];
    const noise = await sharp(randomBytes(w * h * 3), { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 92, chromaSubsampling: '4:4:4' })
      .toBuffer();
    const small = await seedDoneJob(noise, 3);
    const big = await seedDoneJob(noise, RESULTS);

    // A small export first, so code loading and first-use allocations are not counted as growth.
    const warm = await exportZip(small);
    assert.equal(warm.status, 'done', JSON.stringify(warm.error));
    const baseline = rssBytes(worker.pid);
    let peak = baseline;
    const sample = () => (peak = Math.max(peak, rssBytes(worker.pid)));
    const timer = setInterval(sample, 50);
    let ex: any;
    try {
      ex = await exportZip(big, sample);
    } finally {
      clearInterval(timer);
    }
    assert.equal(ex.status, 'done', JSON.stringify(ex.error));
    const total = noise.length * RESULTS;
    assert.ok(ex.bytes > total, `zip ${ex.bytes} B holds every result (${total} B)`);
    const growth = peak - baseline;
    console.log(
      `      zip ${(ex.bytes / MIB).toFixed(0)} MiB of ${RESULTS} × ${(noise.length / MIB).toFixed(2)} MiB; ` +
        `worker RSS ${(baseline / MIB).toFixed(0)} -> peak ${(peak / MIB).toFixed(0)} MiB (growth ${(growth / MIB).toFixed(1)} MiB)`,
    );
    assert.ok(total > 2 * 100 * MIB, 'the zip is far larger than the bound, so buffering it would fail the test');
    assert.ok(growth < 100 * MIB, `RSS grew by ${(growth / MIB).toFixed(1)} MiB`);

    // What the app downloads: every result (stored bytes) and the manifest, nothing else.
    const download = await fetch(ex.download_url);
    assert.equal(download.status, 200);
    const body = Buffer.from(await download.arrayBuffer());
    assert.equal(body.length, ex.bytes);
    const zip = new AdmZip(body);
    const names = zip
      .getEntries()
      .map((e) => e.entryName)
      .sort();
    const expected = [...Array.from({ length: RESULTS }, (_, i) => `${i}.jpg`), 'manifest.json'].sort();
    assert.deepEqual(names, expected);
    for (const i of [0, 117, RESULTS - 1]) assert.ok(zip.readFile(`${i}.jpg`)!.equals(noise), `result ${i} is the stored bytes`);
    const manifest = JSON.parse(zip.readAsText('manifest.json'));
    assert.equal(manifest.job.id, big);
    assert.deepEqual(
      manifest.items.map((i: any) => i.file),
      Array.from({ length: RESULTS }, (_, i) => `${i}.jpg`),
    );
  });
});
