/**
 * The three Runpod Serverless operations the dispatcher needs (`/run` with webhook and policy, `/status/{id}`,
 * `/cancel/{id}`), through the `runpod-sdk` npm client. What it lacks is filled in here: its responses are
 * untyped (`any`-shaped, with `started/completed` flags mixed in), so they are parsed; an error answer arrives as
 * xior's XiorError without the body in the message, so it is rethrown naming the operation, status and body.
 */
import createRunpod, { type ExecutionPolicy } from 'runpod-sdk';
import { RunpodJob } from '../../services/runpodJobs';

/** One Runpod Serverless endpoint. */
export interface RunpodEndpoint {
  /** Queues a job; Runpod POSTs its `/status` document to `webhook` when it finishes. */
  run(request: { input: unknown; webhook?: string; policy: ExecutionPolicy }): Promise<RunpodJob>;
  status(id: string): Promise<RunpodJob>;
  cancel(id: string): Promise<void>;
}

/** Where and how to reach the endpoint. */
export interface RunpodEndpointOptions {
  /** `https://api.runpod.ai/v2` (RUNPOD_API_BASE). */
  apiBase: string;
  apiKey: string;
  endpointId: string;
  /** Per-request timeout (the SDK's default is 3 s). */
  timeoutMs?: number;
}

/** The endpoint of `options` through runpod-sdk. */
export function runpodEndpoint(options: RunpodEndpointOptions): RunpodEndpoint {
  const sdk = createRunpod(options.apiKey, { baseUrl: options.apiBase.replace(/\/+$/, '') });
  const endpoint = sdk.endpoint(options.endpointId);
  if (!endpoint) throw new Error('RUNPOD_ENDPOINT_ID is not set');
  const timeout = options.timeoutMs ?? 10_000;
  const call = async <T>(what: string, op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      throw runpodError(what, err);
    }
  };
  const job = (what: string, data: unknown): RunpodJob => {
    const parsed = RunpodJob.safeParse(data);
    if (!parsed.success) throw new Error(`Runpod ${what} answered without a job: ${JSON.stringify(data).slice(0, 300)}`);
    return parsed.data;
  };
  return {
    run: async (request) => job('/run', await call('/run', () => endpoint.run(request, timeout))),
    status: async (id) => job('/status', await call(`/status/${id}`, () => endpoint.status(id, timeout))),
    cancel: async (id) => {
      await call(`/cancel/${id}`, () => endpoint.cancel(id, timeout));
    },
  };
}

/** An HTTP failure of the SDK (xior's XiorError carries `response.status` and the parsed body) as a plain Error. */
function runpodError(what: string, err: unknown): Error {
  const e = err as { message?: string; response?: { status?: number; data?: unknown } };
  if (e?.response?.status) {
    const body = typeof e.response.data === 'string' ? e.response.data : JSON.stringify(e.response.data ?? '');
    return new Error(`Runpod ${what} answered ${e.response.status}: ${body.slice(0, 300)}`);
  }
  return new Error(`Runpod ${what} failed: ${e?.message ?? String(err)}`);
}
