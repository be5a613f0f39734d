/**
 * Refusing the upload tickets of a job that ended before its uploads were confirmed. Presigned URLs cannot be
 * revoked; every ticket is signed with `If-None-Match: *`, so an empty placeholder at each input key still free makes
 * the store answer the job's remaining tickets with 412. Idempotent: a key that exists is left alone.
 */
import { inputKey, type UploadContentType } from '../domain/storageKeys';
import { mapLimit } from './mapLimit';
import type { Storage } from './storage';

/** The job whose inputs to seal. */
export interface SealRef {
  userId: string;
  jobId: string;
  itemCount: number;
  contentType: UploadContentType;
}

/** How long one placeholder write may take (a store that stops answering must not hold the caller). */
const REQUEST_TIMEOUT_MS = 2500;

/**
 * Writes the placeholders (16 requests in flight); returns how many keys were still free. The first failure stops the
 * other requests and is thrown (the caller retries the whole seal: it is idempotent).
 */
export async function sealInputs(storage: Storage, job: SealRef): Promise<number> {
  const written = await mapLimit(job.itemCount, 16, (idx, stop) => {
    const key = inputKey(job.userId, job.jobId, idx, job.contentType);
    const signal = AbortSignal.any([stop, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]);
    return storage.putIfAbsent(key, Buffer.alloc(0), 'application/octet-stream', { signal });
  });
  return written.filter(Boolean).length;
}
