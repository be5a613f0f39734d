/**
 * Serialized JobView pages of terminal jobs, reused while nothing they show can change. A terminal job's items are
 * final (the workflow's last flush writes them with the job row, in one transaction); what can still move is the
 * job row itself and the variants and exports lists, so they are part of the key, with the page. The presigned URLs inside stay
 * fresh: an entry lives `reuseSeconds`, and the presign cache stops handing a URL out that long before half of its
 * lifetime is gone (presignCache.ts), so every URL served from here still has half of its lifetime to live.
 */
import { LRUCache } from 'lru-cache';
import type { JobLog } from '../entities/JobLog';
import type { SerializedAnswer } from './conditional';
import type { ItemPage } from './jobViews';

/** The cache of one API process. */
export function createJobViewCache(opts: { reuseSeconds: number; maxBytes: number }) {
  if (opts.maxBytes === 0) return { key: () => undefined, get: () => undefined, set: () => undefined };
  const cache = new LRUCache<string, SerializedAnswer>({
    maxSize: opts.maxBytes,
    sizeCalculation: (a) => a.head.length + a.etag.length + 100,
    ttl: opts.reuseSeconds * 1000,
  });
  return {
    /** The key of a page of `job` with these lists (variants, exports): every field of the mirror row a JobView shows. */
    key(job: JobLog, page: ItemPage, lists: unknown): string | undefined {
      const when = (d: Date | null) => d?.getTime() ?? null;
      return JSON.stringify([
        job.id,
        job.userId,
        job.presetId,
        job.status,
        job.itemCount,
        job.contentType,
        job.params,
        job.creditsReserved,
        job.creditsCharged,
        job.creditsRefunded,
        job.errorCode,
        job.errorMessage,
        when(job.createdAt),
        when(job.updatedAt),
        when(job.finishedAt),
        page.offset,
        page.limit,
        lists,
      ]);
    },
    get: (key: string): SerializedAnswer | undefined => cache.get(key),
    set: (key: string, answer: SerializedAnswer): void => void cache.set(key, answer),
  };
}

/** The cache's type. */
export type JobViewCache = ReturnType<typeof createJobViewCache>;
