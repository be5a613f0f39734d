/**
 * A fleet of N stand-in workers on one task queue — GPU workers, each with its own serialized GPU and batcher, or CPU
 * workers with their cores: in child processes (the default: each worker has its own event loop and Temporal core
 * runtime, as on separate hosts) or in the bench process (`--inline`: cheaper on a 2-core machine, but the stand-ins
 * share the API's and orchestration's event loop).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { ToChild } from './gpuChild';
import type { Samples } from './sdkMetrics';
import { createCpuStandInWorker, type CpuModel } from './cpuStandIn';
import { createStandInWorker, type ActivityRecord, type GpuModel } from './standIn';

/** What each worker of a fleet is: a GPU stand-in (its model and activity slots) or a CPU stand-in (its cores). */
export type FleetRole = { kind: 'gpu'; model: GpuModel; slots: number } | { kind: 'cpu'; model: CpuModel };

/** What a fleet runs: how many stand-in workers, where, on which queue, in which role. */
export interface FleetOptions {
  count: number;
  inline: boolean;
  address: string;
  namespace: string;
  taskQueue: string;
  role: FleetRole;
}

/** Creates stand-in worker `index` of a fleet in `role` (not running yet). */
export function createRoleWorker(
  connection: NativeConnection,
  o: { namespace: string; taskQueue: string; index: number; role: FleetRole },
): Promise<{ worker: Worker; records: ActivityRecord[] }> {
  const common = { connection, namespace: o.namespace, taskQueue: o.taskQueue, index: o.index };
  return o.role.kind === 'gpu'
    ? createStandInWorker({ ...common, model: o.role.model, slots: o.role.slots })
    : createCpuStandInWorker({ ...common, model: o.role.model });
}

/** A running fleet. */
export interface Fleet {
  /** Process ids to sample for CPU (empty when inline). */
  pids: number[];
  /** Drains every worker and returns what their activities recorded (and the children's SDK metrics). */
  stop(): Promise<{ records: ActivityRecord[]; sdk: Samples[] }>;
  /** Kills whatever is left (cleanup path; safe to call more than once). */
  kill(): void;
}

const live = new Set<ChildProcess>();

/** Kills every child worker still alive (for the bench's exit path). */
export function killAllChildren(): void {
  for (const c of live) c.kill('SIGKILL');
}

/** Starts `count` stand-in GPU workers (child processes, or in this process with `inline`) and waits until they poll. */
export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  return opts.inline ? startInline(opts) : startChildren(opts);
}

async function startInline(opts: FleetOptions): Promise<Fleet> {
  // One NativeConnection per worker: the SDK refuses two activity workers on one queue over the same client.
  const workers: { worker: Worker; records: ActivityRecord[]; run: Promise<void>; connection: NativeConnection }[] = [];
  const stopAll = async () => {
    for (const w of workers) if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
    await Promise.allSettled(workers.map((w) => w.run));
    await Promise.allSettled(workers.map((w) => w.connection.close()));
  };
  try {
    for (let i = 0; i < opts.count; i++) {
      const connection = await NativeConnection.connect({ address: opts.address });
      try {
        const w = await createRoleWorker(connection, { namespace: opts.namespace, taskQueue: opts.taskQueue, index: i, role: opts.role });
        workers.push({ ...w, connection, run: w.worker.run() });
      } catch (err) {
        await connection.close();
        throw err;
      }
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    pids: [],
    async stop() {
      await (stopped ??= stopAll());
      return { records: workers.flatMap((w) => w.records), sdk: [] };
    },
    kill() {
      void (stopped ??= stopAll());
    },
  };
}

interface Child {
  proc: ChildProcess;
  next(type: string, timeoutMs: number): Promise<any>;
}

function forkChild(): Child {
  const proc = fork(join(__dirname, 'gpuChild.ts'), [], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(proc);
  const inbox: any[] = [];
  const waiters: (() => void)[] = [];
  let exited: string | undefined;
  proc.on('message', (m) => {
    inbox.push(m);
    waiters.splice(0).forEach((w) => w());
  });
  proc.on('exit', (code, signal) => {
    live.delete(proc);
    exited = `exited (code ${code}, signal ${signal})`;
    waiters.splice(0).forEach((w) => w());
  });
  proc.on('error', () => undefined); // reported through 'exit'
  return {
    proc,
    async next(type, timeoutMs) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const i = inbox.findIndex((m) => m.type === type || m.type === 'error');
        if (i >= 0) {
          const m = inbox.splice(i, 1)[0];
          if (m.type === 'error') throw new Error(`stand-in worker child ${proc.pid} failed: ${m.message}`);
          return m;
        }
        if (exited) throw new Error(`stand-in worker child ${proc.pid} ${exited} while waiting for '${type}'`);
        const left = until - Date.now();
        if (left <= 0) throw new Error(`stand-in worker child ${proc.pid}: no '${type}' within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
  };
}

async function startChildren(opts: FleetOptions): Promise<Fleet> {
  const children = Array.from({ length: opts.count }, forkChild);
  const kill = () => children.forEach((c) => c.proc.exitCode === null && c.proc.kill('SIGKILL'));
  try {
    children.forEach((c, index) => {
      const msg: ToChild = {
        type: 'start',
        address: opts.address,
        namespace: opts.namespace,
        taskQueue: opts.taskQueue,
        index,
        role: opts.role,
      };
      c.proc.send(msg);
    });
    await Promise.all(children.map((c) => c.next('ready', 60_000)));
  } catch (err) {
    kill();
    throw err;
  }
  return {
    pids: children.map((c) => c.proc.pid!),
    async stop() {
      const stop: ToChild = { type: 'stop' };
      children.forEach((c) => c.proc.send(stop));
      try {
        const replies = await Promise.all(children.map((c) => c.next('records', 30_000)));
        return {
          records: replies.flatMap((r) => r.records as ActivityRecord[]),
          sdk: replies.map((r) => new Map(r.sdk as [string, number][])),
        };
      } finally {
        // They exit by themselves after replying; anything still there after a grace period is killed.
        setTimeout(kill, 5_000).unref();
      }
    },
    kill,
  };
}
