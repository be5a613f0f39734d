/**
 * The Runpod adapter of `segment` (GPU_PROVIDER=runpod): no model here. Each item is submitted to the Runpod
 * Serverless endpoint, where the unchanged engine (createGpuActivities, runpodHandler/) runs it, and the activity
 * completes asynchronously by task token:
 *   - the webhook reaches the API (/providers/runpod/...), which completes it at once;
 *   - a watch here polls `/status` every RUNPOD_POLL_INTERVAL and completes it if the webhook was lost, and
 *     heartbeats meanwhile, so time in Runpod's queue never trips the heartbeat timeout while this process lives;
 *   - a cancel of the job surfaces on that heartbeat: the Runpod job gets `/cancel` and the activity is reported
 *     cancelled. If this process dies, its items time out on heartbeat and are retried; the retry cancels the
 *     earlier attempt's Runpod job (its id is in the heartbeat details) and its late webhook finds the attempt closed.
 */
import { CompleteAsyncError, Context } from '@temporalio/activity';
import { ActivityCancelledError, ActivityNotFoundError, type AsyncCompletionClient } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { RUNPOD_TERMINAL, RunpodFailure, settleJob, type RunpodJob } from '../../services/runpodJobs';
import { webhookPath } from '../../services/taskTokens';
import type { GpuActivities, SegmentInput } from '../contract';
import type { RunpodEndpoint } from './runpodEndpoint';

/** Heartbeat details of an item on Runpod (the callback route reads `idx`; a retry reads `runpodJobId`). */
export interface RunpodItemDetails {
  idx: number;
  runpodJobId: string;
  status: string;
}

/** Where the adapter reports what Runpod did: logs, and the queue-delay / execution-time metrics. */
export interface RunpodObserver {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  /** A finished Runpod job's times (ms), once per job that ran. */
  finished(job: RunpodJob): void;
}

/** What the adapter needs. */
export interface RunpodAdapterDeps {
  activity: AsyncCompletionClient;
  endpoint: RunpodEndpoint;
  /** GPU_CALLBACK_SECRET: the MAC key of webhook URLs (the API checks them with the same secret). */
  secret: string;
  /** The API's public base URL; undefined = no webhook, completion by polling. */
  webhookUrl?: string;
  pollMs: number;
  executionTimeoutMs: number;
  observer: RunpodObserver;
}

/** The dispatcher's `segment`, and a way to let the items it is watching finish before shutdown. */
export interface RunpodAdapter {
  activities: GpuActivities;
  /** Items currently on Runpod. */
  watching(): number;
  /** Waits up to `graceMs` for the watched items to settle, then stops watching (their heartbeats stop). */
  close(graceMs: number): Promise<void>;
}

// Runpod's policy bounds: executionTimeout > 5 s, ttl ≥ 10 s.
const MIN_EXECUTION_MS = 5_001;
const MIN_TTL_MS = 10_000;

/** Creates the Runpod adapter. */
export function createRunpodAdapter(deps: RunpodAdapterDeps): RunpodAdapter {
  const watches = new Set<Promise<void>>();
  const stop = new AbortController();
  const log = deps.observer;

  async function segment(input: SegmentInput): Promise<never> {
    const { info } = Context.current();
    const { jobId, idx } = input.item;
    const previous = (info.heartbeatDetails as Partial<RunpodItemDetails> | undefined)?.runpodJobId;
    if (previous) {
      // The earlier attempt timed out (its dispatcher died): its Runpod job would only burn GPU time now.
      deps.endpoint.cancel(previous).catch((err) => log.warn({ jobId, idx, runpodJobId: previous, err: String(err) }, 'cancel failed'));
    }
    const webhook = deps.webhookUrl
      ? deps.webhookUrl.replace(/\/+$/, '') + webhookPath(deps.secret, 'runpod', jobId, idx, info.taskToken)
      : undefined;
    // Runpod drops the job when the activity would time out anyway (queue time included).
    const ttl = Math.max(MIN_TTL_MS, info.startToCloseTimeoutMs ?? 600_000);
    const executionTimeout = Math.max(MIN_EXECUTION_MS, Math.min(deps.executionTimeoutMs, ttl));
    const job = await deps.endpoint.run({ input, webhook, policy: { executionTimeout, ttl } });
    const details: RunpodItemDetails = { idx, runpodJobId: job.id, status: job.status };
    Context.current().heartbeat(details);
    log.info({ jobId, idx, runpodJobId: job.id, attempt: info.attempt, webhook: Boolean(webhook) }, 'item submitted to Runpod');
    const w = watch(Buffer.from(info.taskToken), details, jobId).finally(() => watches.delete(w));
    watches.add(w);
    throw new CompleteAsyncError();
  }

  /** Heartbeats and polls one item until it is settled (by us or by the webhook) or cancelled. */
  async function watch(token: Buffer, details: RunpodItemDetails, jobId: string): Promise<void> {
    const fields = { jobId, idx: details.idx, runpodJobId: details.runpodJobId };
    // First heartbeat at once, by token: the details are on the server before the first poll.
    for (let first = true; !stop.signal.aborted; first = false) {
      if (!first) await sleep(deps.pollMs, stop.signal);
      if (stop.signal.aborted) return;
      let job: RunpodJob | undefined;
      if (!first) {
        try {
          job = await deps.endpoint.status(details.runpodJobId);
          details.status = job.status;
        } catch (err) {
          log.warn({ ...fields, err: String(err) }, 'Runpod /status failed; retrying at the next poll');
        }
      }
      if (job && (RUNPOD_TERMINAL as readonly string[]).includes(job.status) && job.status !== 'CANCELLED') {
        const outcome = await settleJob(deps.activity, token, job).catch((err) => {
          log.warn({ ...fields, err: String(err) }, 'settling the item failed; retrying at the next poll');
          return undefined;
        });
        if (!outcome) continue;
        finished(job, outcome === 'duplicate' ? 'webhook' : 'poll', fields);
        return;
      }
      try {
        await deps.activity.heartbeat(token, details);
      } catch (err) {
        if (err instanceof ActivityNotFoundError) {
          // Settled elsewhere (the webhook) or timed out: one last look for the operator's view.
          const last =
            job && (RUNPOD_TERMINAL as readonly string[]).includes(job.status)
              ? job
              : await deps.endpoint.status(details.runpodJobId).catch(() => undefined);
          if (last) finished(last, 'webhook', fields);
          return;
        }
        if (err instanceof ActivityCancelledError) {
          await cancelOnRunpod(token, details, fields);
          return;
        }
        log.warn({ ...fields, err: String(err) }, 'heartbeat failed; retrying at the next poll');
        continue;
      }
      if (job?.status === 'CANCELLED') {
        // Cancelled on Runpod's side (console, purge) without a cancel of ours: the item is retried.
        await deps.activity
          .fail(token, ApplicationFailure.retryable(`Runpod job ${job.id} was cancelled`, RunpodFailure.CANCELLED))
          .catch((e) => log.warn({ ...fields, err: String(e) }, 'failing the item failed'));
        return;
      }
    }
  }

  async function cancelOnRunpod(token: Buffer, details: RunpodItemDetails, fields: Record<string, unknown>): Promise<void> {
    try {
      await deps.endpoint.cancel(details.runpodJobId);
      log.info(fields, 'item cancelled: Runpod job cancelled');
    } catch (err) {
      log.warn({ ...fields, err: String(err) }, 'Runpod /cancel failed; the job may still run (its result is ignored)');
    }
    await deps.activity.reportCancellation(token, details).catch((err) => {
      if (!(err instanceof ActivityNotFoundError)) log.warn({ ...fields, err: String(err) }, 'reporting the cancellation failed');
    });
  }

  function finished(job: RunpodJob, via: 'webhook' | 'poll', fields: Record<string, unknown>): void {
    deps.observer.finished(job);
    log.info({ ...fields, status: job.status, via, delayMs: job.delayTime, executionMs: job.executionTime }, 'Runpod job finished');
  }

  return {
    activities: { segment },
    watching: () => watches.size,
    async close(graceMs) {
      const all = Promise.all(watches);
      const grace = new AbortController();
      await Promise.race([all, sleep(graceMs, grace.signal)]);
      grace.abort(); // no timer left to hold the process open
      stop.abort();
      await all;
    },
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
