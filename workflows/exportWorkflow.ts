/**
 * One export (API.md §19): mark it running, build it on the CPU task queue (streamed to storage), record the outcome.
 * The API resolved every key, so the workflow is plain wiring.
 */
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { ExportBuildActivities } from '../activities/exportContract';
import type { ExportRecordActivities } from '../activities/exportActivities';
import type { ExportInput, ExportOutcome } from './variantContract';

const { recordExport } = proxyActivities<ExportRecordActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** Builds one export; returns what was written or why not. */
export async function exportWorkflow(input: ExportInput): Promise<ExportOutcome> {
  const { buildExport } = proxyActivities<ExportBuildActivities>({
    taskQueue: input.cpuTaskQueue,
    // A 500-item zip takes minutes; the heartbeat notices a dead worker long before startToClose does.
    startToCloseTimeout: '1h',
    heartbeatTimeout: '30s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3 },
  });
  await recordExport({ exportId: input.exportId, status: 'running' });
  let outcome: ExportOutcome;
  try {
    outcome = { ok: true, result: await buildExport(input.build) };
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    const code = cause instanceof ApplicationFailure && cause.type ? cause.type : 'EXPORT_FAILED';
    outcome = { ok: false, error: { code, message: cause instanceof Error ? cause.message : String(cause) } };
  }
  const finishedAt = new Date(Date.now()).toISOString(); // workflow clock
  await recordExport(
    outcome.ok
      ? { exportId: input.exportId, status: 'done', bytes: outcome.result.bytes, finishedAt }
      : { exportId: input.exportId, status: 'failed', error: outcome.error, finishedAt },
  );
  return outcome;
}
