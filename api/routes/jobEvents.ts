import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Storage } from '../../services/storage';
import { isTerminal } from '../../domain/jobStates';
import { isVariantTerminal, type VariantStatus } from '../../domain/variantMachine';
import type { UploadContentType } from '../../domain/storageKeys';
import type { JobReader } from '../jobReader';
import { jobSummary, jobView } from '../jobViews';
import type { RequestState } from '../middleware/envelope';
import type { RouteDoc } from '../openapi';

/** How often the stream looks at the job, and how often it sends a keep-alive comment through idle proxies. */
const POLL_MS = 1000;
const KEEPALIVE_MS = 15_000;

/**
 * `GET /jobs/{id}/events`: Server-Sent Events. A `progress` event (JobView without items) whenever the progress or
 * status changes (variants' progress included), then one `end` event with the full JobView when the job and its
 * variants are terminal, and the stream closes.
 */
export function createJobEventsRouter(deps: {
  reader: JobReader;
  /** The job's variants (compare): their progress streams too, and the stream stays open while one runs. */
  variants: (jobId: string) => Promise<{ n: number; status: string; progress: unknown }[]>;
  storage: Storage;
  presignTtl: number;
  auth: Middleware<RequestState>;
}): Router<RequestState> {
  const router = new Router<RequestState>();
  router.get('/jobs/:id/events', deps.auth, async (ctx) => {
    let job = await deps.reader.ownJob(ctx.state.userId, ctx.params.id);
    const stream = new PassThrough();
    ctx.state.raw = true;
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    ctx.status = 200;
    ctx.body = stream;

    let open = true;
    let eventId = 0;
    ctx.req.on('close', () => (open = false));
    const send = (event: string, data: unknown) => stream.write(`id: ${++eventId}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const keepAlive = setInterval(() => stream.write(': keep-alive\n\n'), KEEPALIVE_MS);

    void (async () => {
      let last = '';
      try {
        stream.write('retry: 3000\n\n');
        while (open) {
          job = await deps.reader.reload(job);
          const state = await deps.reader.state(job);
          const variants = await deps.variants(job.id);
          const summary = { ...jobSummary(state), variants };
          const signature = JSON.stringify([summary.status, summary.progress, summary.error, variants]);
          if (signature !== last) {
            last = signature;
            send('progress', summary);
          }
          if (isTerminal(state.status) && variants.every((v) => isVariantTerminal(v.status as VariantStatus))) {
            const extras = { params: job.params, variants: variants as never };
            send('end', await jobView(state, job.contentType as UploadContentType, deps.storage, deps.presignTtl, extras));
            break;
          }
          await new Promise((r) => setTimeout(r, POLL_MS));
        }
      } catch (err) {
        ctx.state.log.warn({ err }, 'job event stream failed');
        send('error', { code: 'INTERNAL', message: 'the event stream failed; reconnect or poll GET /jobs/{id}' });
      } finally {
        clearInterval(keepAlive);
        stream.end();
      }
    })();
  });
  return router;
}

/** OpenAPI description of this router. */
export const jobEventsDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/jobs/:id/events',
    tag: 'jobs',
    auth: true,
    summary:
      'Server-Sent Events: `progress` (JobView without items, with `variants`) on every change of the job or a variant, then `end` (full JobView) once the job and its variants are terminal, and close',
    response: { status: 200, mediaType: 'text/event-stream' },
    errors: ['NOT_FOUND'],
  },
];
