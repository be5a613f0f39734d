/**
 * The front of the local Runpod stand-in (see index.ts): Runpod's REST paths, a FIFO queue drained by one worker
 * through the local API server, webhook delivery with Runpod's retries, and test faults.
 */
import type http from 'node:http';
import type { Faults, LocalJob, RunpodLocal } from './index';

interface FrontDeps extends Pick<RunpodLocal, 'jobs' | 'cancels' | 'deliveries'> {
  faults: Faults;
  endpointId: string;
  apiKey: string;
  /** Base URL of Runpod's local API server. */
  local: string;
  webhookRetryMs: number;
}

const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

/** The request handler and its one queue worker. */
export function handleRequest(deps: FrontDeps) {
  const queue: LocalJob[] = [];
  let busy = false;
  let stopped = false;

  /** The `/status` document of a job (what the webhook carries too). */
  const view = (j: LocalJob) => ({
    id: j.id,
    status: j.status,
    ...(j.startedAt !== undefined ? { delayTime: j.startedAt - j.submittedAt } : {}),
    ...(j.finishedAt !== undefined && j.startedAt !== undefined ? { executionTime: j.finishedAt - j.startedAt } : {}),
    ...(j.output !== undefined ? { output: j.output } : {}),
    ...(j.error !== undefined ? { error: j.error } : {}),
  });

  async function drain(): Promise<void> {
    if (busy || stopped) return;
    busy = true;
    try {
      for (let job = next(); job && !stopped; job = next()) await execute(job);
    } finally {
      busy = false;
    }
  }
  const next = () => (deps.faults.hold ? undefined : queue.shift());

  async function execute(job: LocalJob): Promise<void> {
    if (job.status !== 'IN_QUEUE') return; // cancelled while queued
    job.status = 'IN_PROGRESS';
    job.startedAt = Date.now();
    const forced = deps.faults.outcomes.shift();
    let result: { status: LocalJob['status']; output?: unknown; error?: unknown };
    if (forced === 'TIMED_OUT') result = { status: 'TIMED_OUT' };
    else if (forced === 'FAILED') result = { status: 'FAILED', error: 'injected failure (runpod-local faults.outcomes)' };
    else {
      // The local server runs the handler inside this request and answers with COMPLETED/FAILED.
      try {
        const res = await fetch(`${deps.local}/status/${job.id}`, { method: 'POST' });
        const body = (await res.json()) as { status: string; output?: unknown; error?: unknown };
        result = { status: body.status === 'COMPLETED' ? 'COMPLETED' : 'FAILED', output: body.output, error: body.error };
      } catch (err) {
        result = { status: 'FAILED', error: `local API server: ${String(err)}` };
      }
    }
    if (job.status !== 'IN_PROGRESS') return; // cancelled while running: the result is discarded
    Object.assign(job, result, { finishedAt: Date.now() });
    if (job.webhook) void deliver(job.webhook, view(job));
  }

  async function deliver(url: string, doc: ReturnType<typeof view>): Promise<void> {
    if (deps.faults.dropWebhooks > 0) {
      deps.faults.dropWebhooks--;
      deps.deliveries.push({ id: doc.id, status: doc.status, httpStatus: -1 });
      return;
    }
    for (let attempt = 0; attempt < 3 && !stopped; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, deps.webhookRetryMs));
      let httpStatus = 0;
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
        httpStatus = res.status;
        await res.arrayBuffer();
      } catch {
        httpStatus = 0;
      }
      deps.deliveries.push({ id: doc.id, status: doc.status, httpStatus });
      if (httpStatus === 200) return;
    }
  }

  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const m = /^\/v2\/([^/]+)\/(run|status|cancel)(?:\/([^/?]+))?(?:\?.*)?$/.exec(req.url ?? '');
    if (!m || m[1] !== deps.endpointId) return send(404, { error: 'not found' });
    if (req.headers.authorization !== `Bearer ${deps.apiKey}`) return send(401, { error: 'unauthorized' });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const [, , op, id] = m;
    if (op === 'run' && req.method === 'POST') {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      if (body.input === undefined) return send(400, { error: 'input is required' });
      // The local server stores the job under its own id; the handler runs when the worker asks for its status.
      const created = (await (
        await fetch(`${deps.local}/run`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ input: body.input }),
        })
      ).json()) as { id: string };
      const job: LocalJob = {
        id: created.id,
        status: 'IN_QUEUE',
        input: body.input,
        webhook: body.webhook,
        policy: body.policy,
        submittedAt: Date.now(),
      };
      deps.jobs.set(job.id, job);
      queue.push(job);
      void drain();
      return send(200, { id: job.id, status: job.status });
    }
    const job = id ? deps.jobs.get(id) : undefined;
    if (!job) return send(404, { error: `job ${id} not found` });
    if (op === 'status') return send(200, view(job));
    if (op === 'cancel' && req.method === 'POST') {
      deps.cancels.push(job.id);
      if (!TERMINAL.includes(job.status)) Object.assign(job, { status: 'CANCELLED', finishedAt: Date.now() });
      return send(200, { id: job.id, status: job.status });
    }
    return send(405, { error: 'method not allowed' });
  }

  return {
    serve: (req: http.IncomingMessage, res: http.ServerResponse) =>
      serve(req, res).catch((err) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) }));
      }),
    kick: () => void drain(),
    stop: () => {
      stopped = true;
    },
  };
}
