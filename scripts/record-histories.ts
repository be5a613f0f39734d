/**
 * Re-records the job and variant workflow histories the replay test (test/workflows/replay.test.ts) replays:
 * representative runs with the stub GPU/CPU activities, written as proto3 JSON into test/workflows/histories/. Run it
 * after a deliberate, `patched()`-guarded workflow change, and commit the new files next to the old ones (old
 * histories must still replay).
 *   npm run record-histories            (uses TEMPORAL_ADDRESS when set, else starts the project's dev server)
 *   npm run record-histories -- variant (only the scenarios whose name contains "variant")
 */
import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { cancelUpdate, confirmUploadUpdate, executeUpdate } from '../workflows/contract';
import type { WorkflowHandle } from '@temporalio/client';
import { EXECUTE, createJob, createTestEnv, eventually, startHarness, type Harness } from '../test/workflows/harness';
import { toHistoryJson } from '../test/workflows/historyJson';
import { startTestS3 } from '../test/support/services';
import { createVariant } from '../test/workflows/variantHarness';
import { cancelVariantUpdate } from '../workflows/variantContract';

const OUT = path.resolve(__dirname, '../test/workflows/histories');

/** A scenario drives one job or variant to its end; the file is named after it. */
const SCENARIOS: Record<string, (h: Harness) => Promise<{ handle: WorkflowHandle }>> = {
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
  async 'cancel-before-upload'(h) {
    const job = await createJob(h, { itemCount: 2 });
    await job.handle.executeUpdate(cancelUpdate);
    return job;
  },
  async 'upload-timeout'(h) {
    return createJob(h, { itemCount: 2, uploadTimeout: '2s' });
  },
  async refused(h) {
    return createJob(h, { itemCount: 3, credits: 1 });
  },
  async 'variant-happy'(h) {
    return createVariant(h, { itemCount: 5, plan: { invalid: [1] } });
  },
  async 'variant-cancel'(h) {
    const variant = await createVariant(h, { itemCount: 4, maxInFlight: 2, plan: { hang: [1] } });
    await eventually(() => h.gpu.started.get(variant.input.jobId)?.includes(1) ?? false);
    await variant.handle.executeUpdate(cancelVariantUpdate);
    return variant;
  },
  async 'variant-refused'(h) {
    return createVariant(h, { itemCount: 3, credits: 0 });
  },
};

async function main(): Promise<void> {
  // A real store for the orchestration worker (the seal of a job that ends before its uploads were confirmed).
  const s3 = await startTestS3();
  for (const [k, v] of Object.entries(s3.storageConfig)) process.env[k] = String(v);
  const env = await createTestEnv();
  const h = await startHarness(env);
  try {
    fs.mkdirSync(OUT, { recursive: true });
    const only = process.argv[2];
    for (const [name, run] of Object.entries(SCENARIOS)) {
      if (only && !name.includes(only)) continue;
      const { handle } = await run(h);
      const final = (await handle.result()) as { status: string };
      const history = await handle.fetchHistory();
      fs.writeFileSync(path.join(OUT, `${name}.json`), toHistoryJson(history) + '\n');
      console.log(`${name}: ${final.status}, ${history.events?.length} events -> test/workflows/histories/${name}.json`);
    }
  } finally {
    await h.stop();
    await env.teardown();
    await s3.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
