/** What every worker entry point (`npm run worker`, `cpu-worker`, `gpu-worker`) does around its own worker. */
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Logger } from 'pino';

/** A created worker and what it holds besides its connection (model sessions, kernel threads, storage clients). */
export interface RunnableWorker {
  worker: Worker;
  close(): Promise<void>;
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
}): Promise<void> {
  const { logger } = opts;
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
