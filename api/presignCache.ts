/**
 * Presigned GET URLs reused for most of their lifetime. Signing with the SDK presigner costs about a millisecond of
 * CPU per URL and a JobView holds up to four per item, while phones poll the same job every few seconds: a URL
 * is signed once and handed out again until `slackSeconds` before half of its lifetime is gone, so every URL a client
 * gets — also from a JobView page built up to `slackSeconds` earlier (jobViewCache.ts) — still has at least half of
 * PRESIGN_TTL_SECONDS to live (and an unchanged job keeps the same body, which ETags rely on).
 */
import { LRUCache } from 'lru-cache';
import type { ServeAs, Storage } from '../services/storage';

/** URLs kept at most: about 40 MB at ~200 bytes each plus the key. */
const MAX_URLS = 100_000;

/** `storage` whose presignGet answers from a cache; every other operation is the storage's own. */
export function withPresignCache(storage: Storage, ttlSeconds: number, slackSeconds = 0): Storage {
  // Promises, not strings: concurrent polls of one job sign each URL once.
  const cache = new LRUCache<string, Promise<string>>({ max: MAX_URLS, ttl: (ttlSeconds / 2 - slackSeconds) * 1000 });
  return {
    ...storage,
    presignGet(key: string, ttl: number, serveAs?: ServeAs): Promise<string> {
      if (ttl !== ttlSeconds) return storage.presignGet(key, ttl, serveAs);
      const id = serveAs ? `${key}\n${serveAs.contentType ?? ''}\n${serveAs.attachment ? 1 : 0}` : key;
      let url = cache.get(id);
      if (!url) {
        url = storage.presignGet(key, ttl, serveAs);
        cache.set(id, url);
        url.catch(() => cache.delete(id));
      }
      return url;
    },
  };
}
