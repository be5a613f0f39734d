/**
 * Child process of test/unit/temporalClient.test.ts: one call retrying against an address where nothing listens,
 * then the connection closed 300 ms in — `plain` (Connection.close), `tracked` (openClientConnection's close, which
 * waits for the call) or `tracked-now` (the same close with no wait: the call's next retry meets the closed guard).
 * Prints "closed cleanly" when no retry fired into the closed channel within the next 1.5 s.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { openClientConnection } from '../../services/temporalClient';

async function main(mode: string): Promise<void> {
  // Nothing listens on port 1: every attempt fails UNAVAILABLE at once and the SDK retries it from a timer.
  const address = '127.0.0.1:1';
  const opened = mode === 'plain' ? undefined : await openClientConnection({ address }, { lazy: true });
  const connection = opened?.connection ?? Connection.lazy({ address });
  const call = connection.withDeadline(Date.now() + 2000, () => connection.workflowService.getSystemInfo({})).catch((err: unknown) => err);
  await sleep(300);
  await (opened ? opened.close(mode === 'tracked-now' ? 0 : undefined) : connection.close());
  console.log(`call ended: ${String(await call)}`);
  await sleep(1500);
  console.log('closed cleanly');
}

void main(process.argv[2]);
