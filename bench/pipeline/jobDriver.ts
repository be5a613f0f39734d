/**
 * Drives bench:pipeline's jobs through the public HTTP API, as the mobile app does (scripts/demo's client): create a
 * job, PUT its items to the presigned URLs, confirm the upload; then `execute` and follow the job's SSE stream to `end`.
 */
import { createClient } from '../../scripts/demo/client';
import { withTimeout } from './lifecycle';
import { nowMs } from './standIn';

/** How long one job may run before the bench gives up on it. */
const JOB_TIMEOUT_MS = 5 * 60_000;
/** Uploads in flight at once: enough to keep SeaweedFS busy without a socket per item. */
const UPLOAD_CONCURRENCY = 16;

/** One executed job: when `execute` was sent and when its 202 arrived (epoch ms), and the final JobView. */
export interface JobRun {
  jobId: string;
  sent: number;
  t0: number;
  view: any;
}

/** A client of the API at `url` acting for the user of `token`. */
export interface JobDriver {
  /** Creates a job of `size` items, uploads them (cycling through `images`) and confirms; returns the job id. */
  prepare(size: number, images: Buffer[]): Promise<string>;
  /** Executes a confirmed job with `concepts` (no protect) and waits for its end. */
  run(jobId: string, concepts: string[]): Promise<JobRun>;
}

/** The job driver of the API at `url`, signed in with `token`. */
export function createJobDriver(url: string, token: string): JobDriver {
  const client = createClient(url);
  client.setToken(token);
  return {
    async prepare(size, images) {
      const sizes = Array.from({ length: size }, (_, i) => images[i % images.length].length);
      const created = await client.call('POST', '/jobs', { preset_id: 'interior', item_count: size, content_type: 'image/jpeg', sizes });
      const uploads: { idx: number; url: string; headers: Record<string, string> }[] = created.uploads;
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(UPLOAD_CONCURRENCY, uploads.length) }, async () => {
          while (next < uploads.length) {
            const u = uploads[next++];
            const res = await fetch(u.url, { method: 'PUT', headers: u.headers, body: images[u.idx % images.length] });
            if (!res.ok) throw new Error(`upload ${u.idx}: HTTP ${res.status} ${await res.text()}`);
          }
        }),
      );
      await client.call('POST', `/jobs/${created.job.id}/confirm-upload`);
      return created.job.id;
    },
    async run(jobId, concepts) {
      const sent = nowMs();
      await client.call('POST', `/jobs/${jobId}/execute`, { concepts, protect: [] });
      const t0 = nowMs();
      const ended = client.follow(jobId, () => undefined);
      const view = await withTimeout(ended, JOB_TIMEOUT_MS, `job ${jobId} did not end within ${JOB_TIMEOUT_MS / 1000} s`);
      return { jobId, sent, t0, view };
    },
  };
}
