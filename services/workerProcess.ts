/** What every worker entry point (`npm run worker`, `cpu-worker`, `gpu-worker`) does around its own worker. */
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Logger } from 'pino';

/** A created worker and what it holds besides its connection (model sessions, kernel threads, storage clients). */
export interface RunnableWorker {
  worker: Worker;
  close(): Promise<void>;
}

/**
 * Node flags the CPU worker runs with: its Dockerfile CMD, `npm run cpu-worker`, scripts/dev.ts, the spawned-process
 * tests and bench:item-cost start it so (test/deploy checks that they agree). V8 sets the old generation's first
 * collection limit from the small heap a worker starts with (~40 MB, 64 MB limit); an item's downloads, result and
 * preview Buffers then bring on a full mark-compact about once per item (~30 ms of CPU with its concurrent marking).
 * A first limit of 128 MB leaves collections to when garbage has built up: measured on applyRule (12 MP, PNG), 3
 * mark-compacts in 20 items instead of 27, and 0.04–0.07 CPU-s less per item (bench/README, item cost).
 */
export const CPU_WORKER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];

/**
 * The flags of `wanted` a process started with `execArgv` lacks. A flag is present when the same option (V8 reads `_`
 * and `-` alike) is given any value.
 */
export function missingNodeFlags(wanted: readonly string[], execArgv: readonly string[] = process.execArgv): string[] {
  const option = (flag: string) => flag.split('=')[0].replace(/_/g, '-');
  const given = new Set(execArgv.map(option));
  return wanted.filter((flag) => !given.has(option(flag)));
}

/**
 * Connects, creates the worker, logs `<name> started` with `started`, and runs it until SIGINT/SIGTERM — the SDK turns
 * those into `worker.shutdown()` and `run()` resolves once in-flight tasks have finished (up to the worker's
 * shutdownGraceTime) — then releases what the worker holds and the connection.
 */
export async function serveWorker(opts: {
  name: string;
  address: string;
  logger: Logger;
  create(connection: NativeConnection): Promise<RunnableWorker>;
  started: Record<string, unknown>;
  /** Node flags the process should have been started with (a warning names the missing ones). */
  nodeFlags?: readonly string[];
}): Promise<void> {
  const { logger } = opts;
  const missing = missingNodeFlags(opts.nodeFlags ?? []);
  if (missing.length > 0) logger.warn({ missing }, `${opts.name} started without its node flags: it runs, at a higher CPU cost per item`);
  const connection = await NativeConnection.connect({ address: opts.address });
  try {
    const { worker, close } = await opts.create(connection);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => logger.info({ signal }, 'shutting down'));
    logger.info(opts.started, `${opts.name} started`);
    try {
      await worker.run();
    } finally {
      await close();
    }
    logger.info(`${opts.name} stopped`);
  } finally {
    await connection.close();
  }
}

/** Runs an entry point's `main`: a failure is printed as one line and the process exits 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
