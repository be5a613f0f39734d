/** Bounded concurrency over an index range: hundreds of items, one store request each. */

/**
 * Maps 0..n-1 through `fn` with at most `limit` calls in flight; results in index order. The first failure stops the
 * lanes from starting more calls (those in flight get `signal` aborted) and is thrown.
 */
export async function mapLimit<T>(n: number, limit: number, fn: (i: number, signal: AbortSignal) => Promise<T>): Promise<T[]> {
  const stop = new AbortController();
  const out = new Array<T>(n);
  let next = 0;
  const lane = async () => {
    while (next < n && !stop.signal.aborted) {
      const i = next++;
      out[i] = await fn(i, stop.signal);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
  } catch (err) {
    stop.abort();
    throw err;
  }
  return out;
}
