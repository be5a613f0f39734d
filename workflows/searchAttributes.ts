/** Typed search attributes of the job workflow: find a job in the Temporal UI by user, preset or status. */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { JobStatus } from '../domain/jobStates';
import { JOB_SEARCH_ATTRIBUTES } from './contract';

/** `S3UserId` (Keyword). */
export const USER_ID_KEY = defineSearchAttributeKey(JOB_SEARCH_ATTRIBUTES.userId, SearchAttributeType.KEYWORD);
/** `S3PresetId` (Keyword). */
export const PRESET_ID_KEY = defineSearchAttributeKey(JOB_SEARCH_ATTRIBUTES.presetId, SearchAttributeType.KEYWORD);
/** `S3JobStatus` (Keyword). */
export const JOB_STATUS_KEY = defineSearchAttributeKey(JOB_SEARCH_ATTRIBUTES.status, SearchAttributeType.KEYWORD);

/** The attributes a job starts with. */
export function jobSearchAttributes(userId: string, presetId: string, status: JobStatus): SearchAttributePair[] {
  return [
    { key: USER_ID_KEY, value: userId },
    { key: PRESET_ID_KEY, value: presetId },
    { key: JOB_STATUS_KEY, value: status },
  ];
}
