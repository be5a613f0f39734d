import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ManagedProcess } from '../../scripts/stack/process';
import { createTestDatabase } from '../support/databases';
import { makeTempDir, startTestTemporal } from '../support/services';
import { spawnWorker } from '../support/processes';
import { assertCompletedOnce, startJob } from '../support/jobs';
import { startTestSystem, waitForJob } from '../support/stack';

describe('resilience (real processes)', function () {
  this.timeout(300_000);

  for (const kind of ['gpu-worker', 'cpu-worker'] as const) {
    it(`finishes every item exactly once after the ${kind} is killed with SIGKILL mid-job and restarted`, async () => {
      const db = await createTestDatabase('sqlite');
      // The killed fleet runs as a child process; the other one runs in this process.
      const stack = await startTestSystem(db, kind === 'gpu-worker' ? { gpu: false } : { cpu: false });
      let worker: ManagedProcess | undefined;
      try {
        worker = await spawnWorker(kind, stack);
        const n = 8;
        const job = await startJob(stack, n, [1600, 1200]);
        const mid = await waitForJob(stack.api, job.token, job.jobId, (v) => v.progress.done >= 1, 120_000);
        assert.ok(mid.progress.done < n, 'killed before the end');
        process.kill(worker.pid, 'SIGKILL');
        await worker.exited;
        worker = await spawnWorker(kind, stack); // its items come back after the heartbeat timeout
        await assertCompletedOnce(stack, db.ds, job, n);
      } finally {
        await worker?.stop(1000);
        await stack.close();
        await db.drop();
      }
    });
  }

  it('finishes a job across a restart of the Temporal dev server (state kept in its SQLite file)', async () => {
    const dir = makeTempDir('temporal-restart');
    const dbFile = join(dir, 'temporal.sqlite');
    let temporal = await startTestTemporal({ dbFile });
    const port = Number(temporal.address.split(':').pop());
    const db = await createTestDatabase('sqlite');
    const stack = await startTestSystem(db, { env: { TEMPORAL_ADDRESS: temporal.address } });
    try {
      const n = 6;
      const job = await startJob(stack, n, [1600, 1200]);
      await waitForJob(stack.api, job.token, job.jobId, (v) => v.progress.done >= 1, 120_000);
      await temporal.stop();
      await new Promise((r) => setTimeout(r, 2000));
      temporal = await startTestTemporal({ dbFile, port });
      await assertCompletedOnce(stack, db.ds, job, n);
    } finally {
      await stack.close();
      await temporal.stop();
      await db.drop();
    }
  });
});
