/**
 * Re-records the job workflow histories the replay test (test/workflows/replay.test.ts) replays: representative runs
 * with the stub GPU activities, written as proto3 JSON into test/workflows/histories/. Run it after a deliberate,
 * `patched()`-guarded workflow change, and commit the new files next to the old ones (old histories must still replay).
 *   npm run record-histories            (uses TEMPORAL_ADDRESS when set, else starts the project's dev server)
 */
import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { cancelUpdate, confirmUploadUpdate, executeUpdate } from '../workflows/contract';
import { EXECUTE, createJob, createTestEnv, eventually, startHarness, type Harness, type TestJob } from '../test/workflows/harness';
import { toHistoryJson } from '../test/workflows/historyJson';

const OUT = path.resolve(__dirname, '../test/workflows/histories');

/** A scenario drives one job to its end; the file is named after it. */
const SCENARIOS: Record<string, (h: Harness) => Promise<TestJob>> = {
  async happy(h) {
    const job = await createJob(h, { itemCount: 3 });
    await job.handle.executeUpdate(confirmUploadUpdate);
    await job.handle.executeUpdate(confirmUploadUpdate); // the idempotent repeat is part of the recorded shape
    await job.handle.executeUpdate(executeUpdate, { args: [EXECUTE] });
    return job;
  },
  async 'item-failure'(h) {
    const job = await createJob(h, { itemCount: 3, plan: { invalid: [1] } });
    await job.handle.executeUpdate(confirmUploadUpdate);
    await job.handle.executeUpdate(executeUpdate, { args: [EXECUTE] });
    return job;
  },
  async cancel(h) {
    const job = await createJob(h, { itemCount: 4, maxInFlight: 2, plan: { hang: [1] } });
    await job.handle.executeUpdate(confirmUploadUpdate);
    await job.handle.executeUpdate(executeUpdate, { args: [EXECUTE] });
    await eventually(() => h.gpu.started.get(job.input.jobId)?.includes(1) ?? false);
    await job.handle.executeUpdate(cancelUpdate);
    return job;
  },
  async 'upload-timeout'(h) {
    return createJob(h, { itemCount: 2, uploadTimeout: '2s' });
  },
  async refused(h) {
    return createJob(h, { itemCount: 3, credits: 1 });
  },
};

async function main(): Promise<void> {
  const env = await createTestEnv();
  const h = await startHarness(env);
  try {
    fs.mkdirSync(OUT, { recursive: true });
    for (const [name, run] of Object.entries(SCENARIOS)) {
      const { handle } = await run(h);
      const final = await handle.result();
      const history = await handle.fetchHistory();
      fs.writeFileSync(path.join(OUT, `${name}.json`), toHistoryJson(history) + '\n');
      console.log(`${name}: ${final.status}, ${history.events?.length} events -> test/workflows/histories/${name}.json`);
    }
  } finally {
    await h.stop();
    await env.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
