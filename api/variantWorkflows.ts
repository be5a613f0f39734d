/** The API's side of the variant and export workflows: start (with the reservation), cancel, read. */
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ReserveResult } from '../domain/jobData';
import type { VariantState } from '../domain/variantMachine';
import { jobSearchAttributes } from '../workflows/searchAttributes';
import {
  EXPORT_WORKFLOW_TYPE,
  VARIANT_WORKFLOW_TYPE,
  cancelVariantSignal,
  cancelVariantUpdate,
  exportWorkflowId,
  reserveVariantUpdate,
  variantStateQuery,
  variantWorkflowId,
  type ExportInput,
  type VariantInput,
} from '../workflows/variantContract';
import { CANCEL_SETTLE_MS, callWithin } from './jobWorkflows';

/** Variant and export workflow operations for the API; every call gives up after `callTimeoutMs` (then UNAVAILABLE). */
export function createVariantWorkflows(client: Client, taskQueue: string, callTimeoutMs: number) {
  const handle = (jobId: string, n: number) => client.workflow.getHandle(variantWorkflowId(jobId, n));
  // INVALID_STATE and the reserve's failures map as for jobs (the variant workflow fails its updates with the same types).
  const call = <T>(fn: () => Promise<T>, timeoutMs = callTimeoutMs): Promise<T> => callWithin(client, timeoutMs, fn);
  return {
    /** Starts (or attaches to) variant n's workflow and returns its reservation; null when it already ended. */
    async start(input: VariantInput): Promise<ReserveResult | null> {
      const startWorkflowOperation = new WithStartWorkflowOperation(VARIANT_WORKFLOW_TYPE, {
        workflowId: variantWorkflowId(input.jobId, input.n),
        taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: jobSearchAttributes(input.userId, input.presetId, 'queued'),
      });
      try {
        return await call(() => client.workflow.executeUpdateWithStart(reserveVariantUpdate, { startWorkflowOperation }));
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return null;
        throw err;
      }
    },
    /** The cancel update waits for the variant to settle (the workflow's own bound): held to that, not the call deadline. */
    cancel: (jobId: string, n: number): Promise<VariantState> =>
      call(() => handle(jobId, n).executeUpdate(cancelVariantUpdate), CANCEL_SETTLE_MS),
    /** Best-effort cancel signal: never throws. */
    async cancelQuietly(jobId: string, n: number): Promise<void> {
      await call(() => handle(jobId, n).signal(cancelVariantSignal)).catch(() => undefined);
    },
    state: (jobId: string, n: number): Promise<VariantState> => call(() => handle(jobId, n).query(variantStateQuery)),
    /** Starts an export's workflow (idempotent on the export id). */
    async startExport(input: ExportInput): Promise<void> {
      await call(() =>
        client.workflow.start(EXPORT_WORKFLOW_TYPE, {
          workflowId: exportWorkflowId(input.exportId),
          taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      ).catch((err: unknown) => {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      });
    },
  };
}

/** The API's variant and export workflow operations. */
export type VariantWorkflows = ReturnType<typeof createVariantWorkflows>;
