/**
 * The export build's contract (CPU task queue): the activity's signature; its input and result are domain data
 * (domain/exports.ts), resolved by the API into storage keys and labels. Imported as types by the workflows.
 */
import type { ExportBuildInput, ExportBuildResult } from '../domain/exports';

/** The export activities a CPU worker registers. */
export interface ExportBuildActivities {
  buildExport(input: ExportBuildInput): Promise<ExportBuildResult>;
}
