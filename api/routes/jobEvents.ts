import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import type { z } from 'zod';
import type { Middleware } from 'koa';
import type { Storage } from '../../services/storage';
import { isTerminal } from '../../domain/jobStates';
import { isVariantTerminal, type VariantStatus } from '../../domain/variantMachine';
import type { UploadContentType } from '../../domain/storageKeys';
import type { JobReader } from '../jobReader';
import { jobSummary, jobView } from '../jobViews';
import type { RequestState } from '../middleware/envelope';
import type { RouteDoc } from '../openapi';
import type { ExportSummary } from '../schemas';
import type { JobUpdate, SseHub } from '../sseHub';

/** How often a keep-alive comment goes through idle proxies. */
const KEEPALIVE_MS = 15_000;

/**
 * `GET /jobs/{id}/events`: Server-Sent Events. A `progress` event (JobView without items) whenever the progress or
 * status changes (variants' progress included), then one `end` event with the full JobView when the job and its
 * variants are terminal, and the stream closes. The job is polled by the hub, once for every stream that follows it.
 */
export function createJobEventsRouter(deps: {
  reader: JobReader;
  hub: SseHub;
  storage: Storage;
  presignTtl: number;
  /** The `exports` list of the `end` JobView. */
  exports: (jobId: string) => Promise<z.input<typeof ExportSummary>[]>;
  auth: Middleware<RequestState>;
}): Router<RequestState> {
  const router = new Router<RequestState>();
  router.get('/jobs/:id/events', deps.auth, async (ctx) => {
    const job = await deps.reader.ownJob(ctx.state.userId, ctx.params.id);
    const release = deps.hub.admit(job.userId);
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

    let eventId = 0;
    let last = '';
    let ending = false;
    const send = (event: string, data: unknown) => stream.write(`id: ${++eventId}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const keepAlive = setInterval(() => stream.write(': keep-alive\n\n'), KEEPALIVE_MS);
    const close = () => {
      clearInterval(keepAlive);
      unfollow();
      release();
      stream.end();
    };
    const onUpdate = (update: JobUpdate) => {
      if (ending) return;
      if ('error' in update) {
        ending = true;
        ctx.state.log.warn({ err: update.error }, 'job event stream failed');
        send('error', { code: 'INTERNAL', message: 'the event stream failed; reconnect or poll GET /jobs/{id}' });
        close();
        return;
      }
      const { variants } = update;
      const summary = { ...jobSummary(update.state), variants };
      const signature = JSON.stringify([summary.status, summary.progress, summary.error, variants]);
      if (signature !== last) {
        last = signature;
        send('progress', summary);
      }
      if (!finished(update)) return;
      ending = true;
      deps
        .exports(update.job.id)
        .then((exports) => {
          const extras = { params: update.job.params, variants: variants as never, exports };
          return jobView(update.state, update.job.contentType as UploadContentType, deps.storage, deps.presignTtl, extras);
        })
        .then((view) => send('end', view))
        .catch((err) => ctx.state.log.warn({ err }, 'job event stream failed'))
        .finally(close);
    };
    stream.write('retry: 3000\n\n');
    const unfollow = deps.hub.follow(job, onUpdate);
    ctx.res.on('close', close);
  });
  return router;
}

/** Whether a stream (and the hub's poll) is over: the job and every variant of it are terminal. */
export function finished(update: { state: { status: Parameters<typeof isTerminal>[0] }; variants: { status: string }[] }): boolean {
  return isTerminal(update.state.status) && update.variants.every((v) => isVariantTerminal(v.status as VariantStatus));
}

/** OpenAPI description of this router. */
export const jobEventsDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/jobs/:id/events',
    tag: 'jobs',
    auth: true,
    summary:
      'Server-Sent Events: `progress` (JobView without items, with `variants`) on every change of the job or a variant, then `end` (full JobView) once the job and its variants are terminal, and close; at most SSE_MAX_STREAMS_PER_USER open per user',
    response: { status: 200, mediaType: 'text/event-stream' },
    errors: ['NOT_FOUND', 'RATE_LIMITED'],
  },
];
