/**
 * The lifecycle of one bench:pipeline run: everything it starts registers how to undo it, and cleanup() undoes it all
 * once, in reverse order — at the end, on a failure, when a server dies under it, and on Ctrl-C.
 */
import { killAllChildren } from './fleet';

type Undo = () => Promise<unknown> | unknown;

const cleanups: { what: string; fn: Undo }[] = [];
let cleaning: Promise<void> | undefined;

/** Registers how to undo something just started; the last registered is undone first. */
export function onCleanup(what: string, fn: Undo): void {
  cleanups.push({ what, fn });
}

/** True once cleanup has begun: errors of clients closed under their callers are expected from then on. */
export function isStopping(): boolean {
  return cleaning !== undefined;
}

/** Undoes everything registered, once (later calls share the first); a step that hangs is given up after 20 s. */
export function cleanup(): Promise<void> {
  return (cleaning ??= (async () => {
    killAllChildren();
    for (const c of cleanups.reverse()) {
      try {
        await withTimeout(Promise.resolve(c.fn()), 20_000, `${c.what}: no answer in 20000 ms`);
      } catch (err) {
        console.error(`cleanup: ${c.what}: ${err instanceof Error ? err.message : err}`);
      }
    }
  })());
}

/** Reports an unexpected failure (a server or worker died), stops everything and exits 1; ignored while stopping. */
export function fail(message: string): void {
  if (cleaning) return;
  console.error(message);
  void cleanup().then(() => process.exit(1));
}

/** `p`, or a rejection with `message` after `ms` milliseconds. */
export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(message)), ms)))]).finally(() =>
    clearTimeout(t),
  );
}

/** Installs the process handlers: uncaught errors fail the run; Ctrl-C cleans up, a second Ctrl-C exits at once. */
export function handleExits(): void {
  // While stopping, late callbacks of closed clients (gRPC retries, sockets) may throw: they must not cut the cleanup
  // short. Before that, an unexpected error stops everything like a failure.
  for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
    process.on(event, (err: unknown) => fail(`${event}: ${err instanceof Error ? (err.stack ?? err.message) : err}`));
  }
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) process.exit(130); // second Ctrl-C: now (scripts/stack/process.ts's exit hook still stops the servers)
      interrupted = true;
      console.error(`\n${signal}: stopping everything…`);
      void cleanup().then(() => process.exit(130));
    });
  }
}
