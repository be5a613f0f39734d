/**
 * The workers as the images run them: the JavaScript tsc emits (scripts/build.ts, as deploy/Dockerfile builds it)
 * under plain node, where every other suite runs the TypeScript through ts-node. What the build leaves out — a file
 * loaded by path such as a worker thread's script, the workflow bundle's entry or the tokenizer's vocabulary — shows
 * only here.
 */
import assert from 'node:assert/strict';
import type { ManagedProcess } from '../../scripts/stack/process';
import { builtTree } from '../support/build';
import { createTestDatabase } from '../support/databases';
import { assertCompletedOnce, startJob } from '../support/jobs';
import { spawnWorker } from '../support/processes';
import { startTestSystem } from '../support/stack';

describe('built workers (compiled JavaScript, plain node)', function () {
  this.timeout(300_000);

  it('take a job end to end: the orchestration, GPU and CPU workers of the build', async () => {
    const root = builtTree();
    const db = await createTestDatabase('sqlite');
    const system = await startTestSystem(db, { gpu: false, cpu: false, orchestration: false });
    const procs: ManagedProcess[] = [];
    try {
      procs.push(await spawnWorker('worker', system, { DATABASE_URL: db.url }, { root }));
      procs.push(await spawnWorker('gpu-worker', system, {}, { root }));
      procs.push(await spawnWorker('cpu-worker', system, {}, { root }));
      const job = await startJob(system, 3, [800, 600]);
      await assertCompletedOnce(system, db.ds, job, 3);
      for (const proc of procs) assert.equal(proc.exitInfo, null, `${proc.name} is still running`);
    } finally {
      await Promise.all(procs.map((p) => p.stop(2000)));
      await system.close();
      await db.drop();
    }
  });
});
