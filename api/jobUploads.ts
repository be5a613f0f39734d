/**
 * The uploads of a job: presigned PUT tickets for the app and the check that every input arrived within the limit
 * (the seal of a job that ends before its uploads were confirmed is the workflow's: services/uploadSeal.ts).
 */
import { mapLimit } from '../services/mapLimit';
import type { Storage } from '../services/storage';
import { inputKey, MAX_UPLOAD_BYTES, type UploadContentType } from '../domain/storageKeys';
import type { JobLog } from '../entities/JobLog';
import { ApiError } from './errors';

/**
 * One presigned PUT per item, under the storage layout of API.md, each for its declared size. A ticket never outlives
 * the job's upload window (`uploadTimeoutMs` after its reservation, when the workflow's upload timer started): a job
 * that timed out has no live ticket, and one at the end of its window gets none.
 */
export async function uploadTickets(storage: Storage, job: JobLog, sizes: readonly number[], ttlSeconds: number, uploadTimeoutMs: number) {
  const contentType = job.contentType as UploadContentType;
  const windowStart = (job.reservedAt ?? job.createdAt).getTime();
  const untilDeadline = Math.floor((windowStart + uploadTimeoutMs - Date.now()) / 1000);
  if (untilDeadline < 1) return [];
  const ttl = Math.min(ttlSeconds, untilDeadline);
  const expiresAt = new Date(Date.now() + ttl * 1000).toISOString();
  return mapLimit(job.itemCount, 32, async (idx) => {
    const key = inputKey(job.userId, job.id, idx, contentType);
    return {
      idx,
      method: 'PUT' as const,
      url: await storage.presignPut(key, contentType, sizes[idx], ttl),
      headers: { 'Content-Type': contentType, 'Content-Length': String(sizes[idx]), 'If-None-Match': '*' },
      key,
      expires_at: expiresAt,
    };
  });
}

/** HEADs every input; throws UPLOAD_INCOMPLETE naming the missing and the oversize items. */
export async function assertUploaded(storage: Storage, job: JobLog): Promise<void> {
  const heads = await mapLimit(job.itemCount, 16, (idx) =>
    storage.head(inputKey(job.userId, job.id, idx, job.contentType as UploadContentType)),
  );
  // An empty object is missing too (the seal of a canceled job leaves empty placeholders; no image is 0 bytes).
  const missing = heads.flatMap((h, idx) => (h === null || h.size === 0 ? [idx] : []));
  const tooLarge = heads.flatMap((h, idx) => (h !== null && h.size > MAX_UPLOAD_BYTES ? [idx] : []));
  if (missing.length || tooLarge.length) {
    const what = [
      missing.length ? `${missing.length} missing` : '',
      tooLarge.length ? `${tooLarge.length} over ${MAX_UPLOAD_BYTES} bytes` : '',
    ].filter(Boolean);
    throw new ApiError('UPLOAD_INCOMPLETE', `uploads incomplete: ${what.join(', ')}`, {
      missing,
      too_large: tooLarge,
      max_bytes: MAX_UPLOAD_BYTES,
    });
  }
}
