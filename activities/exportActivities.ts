/**
 * Export activities: `buildExport` on the CPU task queue (storage in, one object out; no database), and the export's
 * DB mirror `recordExport` on the orchestration queue.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { DataSource } from 'typeorm';
import type { ExportStatus } from '../domain/exports';
import { JobExportLog } from '../entities/JobExportLog';
import { runActivity } from '../services/activityRun';
import { ObjectNotFoundError, type Storage } from '../services/storage';
import type { ExportBuildInput, ExportBuildResult } from '../domain/exports';
import type { ExportBuildActivities } from './exportContract';
import { buildSheet } from './exports/sheetExport';
import { buildZip } from './exports/zipExport';

/** The CPU worker's export activity. */
export function createExportBuildActivities(deps: {
  storage: Pick<Storage, 'get' | 'put' | 'getStream' | 'putStream'>;
  heartbeatMs?: number;
}): ExportBuildActivities {
  return {
    async buildExport(input: ExportBuildInput): Promise<ExportBuildResult> {
      return runActivity(deps.heartbeatMs ?? 2000, async (step) => {
        let n = 0;
        const progress = () => step(`entry ${++n}`);
        try {
          return input.template === 'zip' ? await buildZip(deps.storage, input, progress) : await buildSheet(deps.storage, input, progress);
        } catch (err) {
          // A result deleted from storage stays deleted: fail the export rather than retry it.
          if (err instanceof ObjectNotFoundError) throw ApplicationFailure.nonRetryable(err.message, 'INPUT_MISSING');
          throw err;
        }
      });
    },
  };
}

/** A change of an export's mirror row. */
export interface ExportRecord {
  exportId: string;
  status: ExportStatus;
  bytes?: number;
  error?: { code: string; message: string };
  finishedAt?: string;
}

/** The orchestration worker's export activity: the DB mirror. */
export function createExportRecordActivities({ ds }: { ds: DataSource }) {
  const rows = ds.getRepository(JobExportLog);
  return {
    /** Writes the export's status (absolute values: a retry writes the same). */
    async recordExport(r: ExportRecord): Promise<void> {
      await rows.update(
        { id: r.exportId },
        {
          status: r.status,
          bytes: r.bytes ?? null,
          errorCode: r.error?.code ?? null,
          errorMessage: r.error?.message.slice(0, 500) ?? null,
          finishedAt: r.finishedAt ? new Date(r.finishedAt) : null,
        },
      );
    },
  };
}

/** The export mirror activities' type. */
export type ExportRecordActivities = ReturnType<typeof createExportRecordActivities>;
