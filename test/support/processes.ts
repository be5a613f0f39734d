/** Entry points run as real child processes (for SIGKILL, metrics and log tests, and the built JavaScript). */
import { join } from 'node:path';
import { startProcess, type ManagedProcess } from '../../scripts/stack/process';
import type { TestSystem } from './stack';
import { CPU_WORKER_NODE_FLAGS } from '../../services/workerProcess';
import { TEST_MODEL_DIR } from './stack';

const ROOT = join(__dirname, '..', '..');
const ENTRIES = {
  api: { file: 'api/server.ts', ready: 'API listening' },
  worker: { file: 'activities/worker.ts', ready: 'orchestration worker started' },
  'cpu-worker': { file: 'activities/cpuWorker.ts', ready: 'cpu worker started', nodeFlags: CPU_WORKER_NODE_FLAGS },
  'gpu-worker': { file: 'gpu-activities/worker.ts', ready: 'gpu worker started' },
} as const;

/**
 * Starts `npm run worker` / `cpu-worker` / `gpu-worker` (or the API) against the system's queues; resolves once it
 * polls (listens). With
 * `root`, the compiled entry under it runs with plain node, as the images run it (test/support/build.ts).
 */
export async function spawnWorker(
  kind: keyof typeof ENTRIES,
  system: TestSystem,
  env: Record<string, string> = {},
  opts: { root?: string } = {},
): Promise<ManagedProcess> {
  const c = system.config;
  const entry = ENTRIES[kind];
  const proc = startProcess({
    name: kind,
    command: process.execPath,
    args: [
      ...('nodeFlags' in entry ? entry.nodeFlags : []),
      ...(opts.root ? [join(opts.root, entry.file.replace(/\.ts$/, '.js'))] : ['-r', 'ts-node/register/transpile-only', entry.file]),
    ],
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: c.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: c.TEMPORAL_TASK_QUEUE,
      GPU_TASK_QUEUE: c.GPU_TASK_QUEUE,
      CPU_TASK_QUEUE: c.CPU_TASK_QUEUE,
      CPU_CONCURRENCY: '2',
      MODEL_DIR: TEST_MODEL_DIR,
      BATCH_CONCURRENCY: '2',
      ...env,
    },
    log: () => undefined,
  });
  const until = Date.now() + 90_000;
  while (!proc.recentOutput().some((l) => l.includes(entry.ready))) {
    if (proc.exitInfo) throw new Error(`${kind} exited: ${proc.recentOutput().slice(-10).join('\n')}`);
    if (Date.now() > until) throw new Error(`${kind} did not start in 90 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return proc;
}
