/**
 * Runpod on this machine, for `GPU_PROVIDER=runpod npm run dev` and the e2e tests: our real handler
 * (gpu-activities/runpodHandler/handler.py → the Node engine) under Runpod's own local API server
 * (`python handler.py --rp_serve_api`, the pinned `runpod` package in .tools/runpod-venv), behind a small front
 * that adds what that server lacks. The local server (runpod 1.12 rp_fastapi.py) only stores a job on `POST /run`
 * and runs it synchronously inside `POST /status/{id}`; it has no `/v2/{endpoint}` prefix, no GET /status, no
 * /cancel, no queue times, and its webhook body is `{output}` without id or status. The front therefore provides:
 *   - Runpod's REST paths and Bearer auth: `POST /v2/{ep}/run`, `GET /v2/{ep}/status/{id}`, `POST /v2/{ep}/cancel/{id}`;
 *   - a FIFO queue drained by one worker (runs each job through the local server's /status), with
 *     IN_QUEUE → IN_PROGRESS → COMPLETED/FAILED/CANCELLED/TIMED_OUT, delayTime and executionTime;
 *   - webhook delivery of the `/status` document, retried twice 10 s apart as Runpod documents it;
 *   - faults for tests: webhooks dropped, an outcome forced (FAILED, TIMED_OUT), jobs held in the queue.
 */
import http from 'node:http';
import path from 'node:path';
import { getFreePorts } from '../stack/ports';
import { startProcess, waitFor, type ManagedProcess } from '../stack/process';
import { REPO_ROOT, RUNPOD_PYTHON } from '../stack/tools';
import { handleRequest } from './front';

/** A job as the front tracks it. */
export interface LocalJob {
  id: string;
  status: 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';
  input: unknown;
  webhook?: string;
  policy?: { executionTimeout?: number; ttl?: number };
  output?: unknown;
  error?: unknown;
  submittedAt: number;
  startedAt?: number;
  finishedAt?: number;
}

/** Faults a test can ask for (each consumed once). */
export interface Faults {
  /** Webhook deliveries to drop (every retry of a dropped one too: the webhook is simply lost). */
  dropWebhooks: number;
  /** Outcomes forced on the next jobs instead of running them. */
  outcomes: ('FAILED' | 'TIMED_OUT')[];
  /** While true, jobs stay IN_QUEUE. */
  hold: boolean;
}

/** A running stand-in. */
export interface RunpodLocal {
  /** RUNPOD_API_BASE, RUNPOD_ENDPOINT_ID and RUNPOD_API_KEY for the dispatcher. */
  env: { RUNPOD_API_BASE: string; RUNPOD_ENDPOINT_ID: string; RUNPOD_API_KEY: string };
  jobs: Map<string, LocalJob>;
  /** Ids the front got `/cancel` for, in order. */
  cancels: string[];
  /** Every webhook delivery attempt: job id, status sent, HTTP status (0 = network error, -1 = dropped). */
  deliveries: { id: string; status: string; httpStatus: number }[];
  faults: Faults;
  /** Lets held jobs run. */
  release(): void;
  stop(): Promise<void>;
}

/** Options of the stand-in. */
export interface RunpodLocalOptions {
  /** Environment of the handler and its engine (STORAGE_*, MODEL_DIR, ...). */
  env: NodeJS.ProcessEnv;
  /** Port of the front (default: a free one); the local server gets a free port. */
  port?: number;
  endpointId?: string;
  apiKey?: string;
  /** Delay between webhook retries (Runpod: 10 s). */
  webhookRetryMs?: number;
  log?: (line: string) => void;
}

/** Starts the handler under Runpod's local API server and the front; resolves when the model is warm. */
export async function startRunpodLocal(opts: RunpodLocalOptions): Promise<RunpodLocal> {
  const [frontPort, localPort] = opts.port ? [opts.port, ...(await getFreePorts(1))] : await getFreePorts(2);
  const endpointId = opts.endpointId ?? 'local';
  const apiKey = opts.apiKey ?? 'local-runpod-key';
  const proc: ManagedProcess = startProcess({
    name: 'runpod',
    command: RUNPOD_PYTHON,
    args: [
      path.join(REPO_ROOT, 'gpu-activities', 'runpodHandler', 'handler.py'),
      '--rp_serve_api',
      '--rp_api_host',
      '127.0.0.1',
      '--rp_api_port',
      String(localPort),
      '--rp_log_level',
      'WARN',
    ],
    cwd: REPO_ROOT,
    env: { ...opts.env, UVICORN_LOG_LEVEL: 'warning', PYTHONUNBUFFERED: '1' },
    log: opts.log ?? (() => undefined),
  });
  const local = `http://127.0.0.1:${localPort}`;
  try {
    // uvicorn listens only after handler.py's engine printed its ready line (the model is warm).
    await waitFor('the Runpod local API server', async () => (await fetch(`${local}/docs`, { redirect: 'manual' })).status > 0, {
      timeoutMs: 120_000,
      proc,
    });
  } catch (err) {
    await proc.stop();
    throw new Error(`${(err as Error).message}\n${proc.recentOutput().slice(-20).join('\n')}`);
  }

  const state = {
    jobs: new Map<string, LocalJob>(),
    cancels: [] as string[],
    deliveries: [] as RunpodLocal['deliveries'],
    faults: { dropWebhooks: 0, outcomes: [], hold: false } as Faults,
  };
  const front = handleRequest({ ...state, endpointId, apiKey, local, webhookRetryMs: opts.webhookRetryMs ?? 10_000 });
  const server = http.createServer((req, res) => void front.serve(req, res));
  await new Promise<void>((resolve) => server.listen(frontPort, '127.0.0.1', resolve));
  return {
    env: { RUNPOD_API_BASE: `http://127.0.0.1:${frontPort}/v2`, RUNPOD_ENDPOINT_ID: endpointId, RUNPOD_API_KEY: apiKey },
    ...state,
    release() {
      state.faults.hold = false;
      front.kick();
    },
    async stop() {
      front.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await proc.stop();
    },
  };
}
