/**
 * The demo's compare-and-export step, through the public API only: variants of a done job in other palette colours
 * (rendered on its stored masks), then exports downloaded to ./out/.
 */
import { writeFileSync } from 'node:fs';
import type { createClient } from './client';

type Api = ReturnType<typeof createClient>;
const terminal = (s: string) => ['done', 'failed', 'canceled'].includes(s);

async function poll<T extends { status: string }>(read: () => Promise<T>, timeoutMs = 180_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (terminal(value.status)) return value;
    if (Date.now() > until) throw new Error(`still ${value.status} after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Renders one variant per params (concurrently) and waits for each; returns the final VariantViews. */
export async function runVariants(api: Api, jobId: string, rules: Record<string, unknown>[], key: string): Promise<any[]> {
  return Promise.all(
    rules.map(async (params, i) => {
      const v = await api.call('POST', `/jobs/${jobId}/variants`, { params }, { 'Idempotency-Key': `${key}-v${i}` });
      return poll(() => api.call('GET', `/jobs/${jobId}/variants/${v.n}`));
    }),
  );
}

/** Requests an export, waits for it and writes the download to `file`; returns the ExportView. */
export async function exportTo(api: Api, jobId: string, body: Record<string, unknown>, file: string): Promise<any> {
  const requested = await api.call('POST', `/jobs/${jobId}/exports`, body);
  const done = await poll(() => api.call('GET', `/jobs/${jobId}/exports/${requested.id}`));
  if (done.status !== 'done') throw new Error(`export ${body.template} ${done.status}: ${done.error?.message ?? ''}`);
  const res = await fetch(done.download_url);
  if (!res.ok) throw new Error(`export download: HTTP ${res.status}`);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return done;
}
