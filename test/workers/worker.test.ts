/**
 * The GPU and CPU worker entries against the run's Temporal dev server and S3: the GPU worker warms the model and
 * serves segment on its queue, the CPU worker serves applyRule on its own (a test-only probe workflow drives them;
 * the job workflow has its own tests).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { parseConfig } from '../../domain/config';
import { RuleParams } from '../../domain/ruleParams';
import { inputKey } from '../../domain/storageKeys';
import { createStorage } from '../../services/storage';
import { createCpuWorker } from '../../activities/cpuWorker';
import { createGpuWorker } from '../../gpu-activities/worker';
import { paint, png } from '../fixtures/gpu/images';
import { testModelDir } from '../fixtures/gpu/model';
import type { gpuProbe } from './workflows/gpuProbe';

describe('GPU and CPU workers (Temporal + S3)', function () {
  this.timeout(120_000);

  it('serve segment on the GPU queue and applyRule on the CPU queue', async () => {
    const gpuTaskQueue = `gpu-${randomUUID()}`;
    const cpuTaskQueue = `cpu-${randomUUID()}`;
    const config = parseConfig({
      ...process.env,
      MODEL_DIR: testModelDir(),
      GPU_TASK_QUEUE: gpuTaskQueue,
      CPU_TASK_QUEUE: cpuTaskQueue,
      BATCH_CONCURRENCY: '2',
      CPU_CONCURRENCY: '2',
    });
    const storage = createStorage(config);
    await storage.ensureBucket();
    const item = { userId: `u-${randomUUID()}`, jobId: randomUUID(), idx: 0, inputKey: '' };
    item.inputKey = inputKey(item.userId, item.jobId, 0, 'image/png');
    await storage.put(item.inputKey, await png(paint(64, 48, (x, y) => (y < 24 ? 'wall' : 'floor'))), 'image/png');

    const native = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    const quiet = { info: () => undefined, warn: () => undefined };
    const gpu = await createGpuWorker(native, config, quiet);
    const cpu = await createCpuWorker(native, config);
    const probeQueue = `probe-${randomUUID()}`;
    const probe = await Worker.create({
      connection: native,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: probeQueue,
      workflowsPath: require.resolve('./workflows/gpuProbe'),
    });
    try {
      const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
      const run = client.workflow.execute<typeof gpuProbe>('gpuProbe', {
        taskQueue: probeQueue,
        workflowId: `gpu-probe-${randomUUID()}`,
        args: [
          {
            gpuTaskQueue,
            cpuTaskQueue,
            item,
            concepts: [{ id: 'wall', prompt: 'wall' }],
            protect: [],
            params: RuleParams.parse({ operations: [{ concept: 'wall', op: 'replace', color: '#FFFFFF' }] }),
          },
        ],
      });
      const result = await gpu.worker.runUntil(cpu.worker.runUntil(probe.runUntil(run)));
      assert.ok(Math.abs(result.segment.coverage.wall - 0.5) < 0.02);
      assert.equal(result.applied.checks.protected_changed_px, 0);
      assert.ok((await storage.head(result.applied.resultKey))!.size > 0);
    } finally {
      await Promise.all([gpu.close(), cpu.close()]);
      await connection.close();
      await native.close();
      storage.destroy();
    }
  });
});
