/**
 * The API and the workers as the images run them: the JavaScript tsc emits (scripts/build.ts, as deploy/Dockerfile
 * builds it) under plain node, where the other suites run the TypeScript through ts-node. What the build leaves out —
 * a file loaded by path such as a worker thread's script, the workflow bundle's entry or the tokenizer's vocabulary —
 * shows only here.
 */
import assert from 'node:assert/strict';
import type { ManagedProcess } from '../../scripts/stack/process';
import { apiClient, TEST_JWT_SECRET } from '../support/api';
import { builtTree } from '../support/build';
import { createTestDatabase } from '../support/databases';
import { assertCompletedOnce, startJob } from '../support/jobs';
import { spawnWorker } from '../support/processes';
import { getFreePort } from '../support/services';
import { startTestSystem } from '../support/stack';

describe('built system (compiled JavaScript, plain node)', function () {
  this.timeout(300_000);

  it('takes a job end to end through the API and the orchestration, GPU and CPU workers of the build', async () => {
    const root = builtTree();
    const db = await createTestDatabase('sqlite');
    // Only storage and the queues' names are used from the in-process system: no worker runs in it.
    const system = await startTestSystem(db, { gpu: false, cpu: false, orchestration: false });
    const procs: ManagedProcess[] = [];
    try {
      const port = await getFreePort();
      const apiEnv = { DATABASE_URL: db.url, PORT: String(port), JWT_SECRET: TEST_JWT_SECRET, ANON_RATE_LIMIT: '1000', LOG_LEVEL: 'info' };
      procs.push(await spawnWorker('api', system, apiEnv, { root }));
      procs.push(await spawnWorker('worker', system, { DATABASE_URL: db.url }, { root }));
      procs.push(await spawnWorker('gpu-worker', system, {}, { root }));
      const cpuWorker = await spawnWorker('cpu-worker', system, {}, { root });
      procs.push(cpuWorker);
      // Started with CPU_WORKER_NODE_FLAGS (node refuses an unknown flag), it finds them and does not warn.
      assert.doesNotMatch(cpuWorker.recentOutput().join('\n'), /started without its node flags/);
      const built = { ...system, api: apiClient(`http://127.0.0.1:${port}`, system.config) };
      const job = await startJob(built, 3, [800, 600]);
      await assertCompletedOnce(built, db.ds, job, 3);
      for (const proc of procs) assert.equal(proc.exitInfo, null, `${proc.name} is still running`);
    } finally {
      await Promise.all(procs.map((p) => p.stop(2000)));
      await system.close();
      await db.drop();
    }
  });
});
