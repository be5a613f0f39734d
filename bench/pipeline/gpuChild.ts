/**
 * Child-process entry of one stand-in worker, GPU or CPU (bench/pipeline/fleet.ts forks it with an IPC channel).
 * Protocol: parent `start` -> child `ready` (the worker polls); parent `stop` -> child drains, sends `records`, exits.
 * The child exits as soon as the IPC channel closes, so it never outlives the bench (Ctrl-C, crash, SIGKILL).
 */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { metricsAddress, scrape } from './sdkMetrics';
import { createRoleWorker, type FleetRole } from './fleet';
import { benchSdkLogger } from './standIn';

/** Messages parent -> child. */
export type ToChild =
  { type: 'start'; address: string; namespace: string; taskQueue: string; index: number; role: FleetRole } | { type: 'stop' };

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
process.on('disconnect', () => process.exit(0));

const send = (msg: unknown) => new Promise<void>((resolve) => process.send!(msg, () => resolve()));

let stop: (() => Promise<void>) | undefined;

process.on('message', (msg: ToChild) => {
  void (async () => {
    try {
      if (msg.type === 'start') {
        // The parent decides when to stop: Ctrl-C in the terminal also reaches this process group, and must not shut
        // the worker down under the parent's feet (the parent's cleanup kills us).
        const metrics = await metricsAddress();
        Runtime.install({
          logger: benchSdkLogger(),
          shutdownSignals: [],
          telemetryOptions: { metrics: { prometheus: { bindAddress: metrics } } },
        });
        const connection = await NativeConnection.connect({ address: msg.address });
        const { worker, records } = await createRoleWorker(connection, {
          namespace: msg.namespace,
          taskQueue: msg.taskQueue,
          index: msg.index,
          role: msg.role,
        });
        const run = worker.run();
        stop = async () => {
          worker.shutdown();
          await run;
          // This process served one scenario only: its cumulative SDK metrics are the scenario's.
          const sdk = [...(await scrape(metrics))];
          await send({ type: 'records', records, sdk });
          await connection.close();
        };
        await send({ type: 'ready', pid: process.pid });
      } else if (msg.type === 'stop') {
        await stop?.();
        process.disconnect();
      }
    } catch (err) {
      await send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      process.exit(1);
    }
  })();
});
