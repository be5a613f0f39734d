import { PassThrough } from 'node:stream';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Storage } from '../../services/storage';
import { isTerminal } from '../../domain/jobStates';
import type { UploadContentType } from '../../domain/storageKeys';
import type { JobReader } from '../jobReader';
import { jobSummary, jobView } from '../jobViews';
import type { RequestState } from '../middleware/envelope';
import type { RouteDoc } from '../openapi';
import type { JobUpdate, SseHub } from '../sseHub';

/** How often a keep-alive comment goes through idle proxies. */
const KEEPALIVE_MS = 15_000;

/**
 * `GET /jobs/{id}/events`: Server-Sent Events. A `progress` event (JobView without items) whenever the progress or
 * status changes, then one `end` event with the full JobView when the job is terminal, and the stream closes.
 * The job is polled by the hub, once for every stream that follows it.
 */
export function createJobEventsRouter(deps: {
  reader: JobReader;
  hub: SseHub;
  storage: Storage;
  presignTtl: number;
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
      const summary = jobSummary(update.state);
      const signature = JSON.stringify([summary.status, summary.progress, summary.error]);
      if (signature !== last) {
        last = signature;
        send('progress', summary);
      }
      if (!isTerminal(update.state.status)) return;
      ending = true;
      jobView(update.state, update.job.contentType as UploadContentType, deps.storage, deps.presignTtl)
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

/** OpenAPI description of this router. */
export const jobEventsDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/jobs/:id/events',
    tag: 'jobs',
    auth: true,
    summary:
      'Server-Sent Events: `progress` (JobView without items) on every change, then `end` (full JobView) and close; at most SSE_MAX_STREAMS_PER_USER open per user',
    response: { status: 200, mediaType: 'text/event-stream' },
    errors: ['NOT_FOUND', 'RATE_LIMITED'],
  },
];
