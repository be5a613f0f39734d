/**
 * The engine inside the Runpod worker image: the same `segment` the GPU fleet registers (createGpuActivities, one
 * model loaded and warmed once per worker), served on 127.0.0.1 to handler.py, the Python handler Runpod calls.
 * `segment` runs inside an activity context of the Temporal SDK's stand-alone runner (MockActivityEnvironment: made
 * for tests, but it is the SDK's own runner), so heartbeats, steps and failure mapping are the fleet's code paths.
 *
 * Protocol: `POST /segment {id, input: SegmentInput}` → `{output: SegmentResult}` or `{error: {type, message,
 * nonRetryable}}`; once warm the process prints `S3_ENGINE_READY <port>` on stdout (logs go to stderr).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import pino from 'pino';
import { parseConfig } from '../../domain/config';
import { createStorage } from '../../services/storage';
import { createGpuActivities } from '../activities';
import type { SegmentInput } from '../contract';
import { createSegmenter } from '../segmenter/segmenter';

/** The line handler.py waits for. */
export const READY_PREFIX = 'S3_ENGINE_READY';

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const log = pino({ name: 'runpod-engine', level: config.LOG_LEVEL }, pino.destination(2));
  const storage = createStorage(config);
  // No cross-request batching here (GPU_MAX_BATCH stays 1): handler.py takes one job at a time per worker — Runpod
  // scales by workers, not by concurrency within one — so a batcher would only add GPU_BATCH_WAIT_MS to every item.
  const segmenter = createSegmenter({
    modelDir: config.MODEL_DIR,
    provider: config.ORT_EXECUTION_PROVIDER,
    scoreThreshold: config.SEGMENT_SCORE_THRESHOLD,
    log: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
  });
  const started = performance.now();
  await segmenter.warm();
  log.info({ ms: Math.round(performance.now() - started), modelDir: config.MODEL_DIR }, 'model loaded and warmed');
  const activities = createGpuActivities({ storage, segmenter });

  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/segment') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void run(Buffer.concat(chunks)).then((answer) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
  });

  async function run(raw: Buffer): Promise<{ output: unknown } | { error: { type: string; message: string; nonRetryable: boolean } }> {
    let request: { id?: string; input?: SegmentInput };
    try {
      request = JSON.parse(raw.toString('utf8'));
    } catch {
      return { error: { type: 'BAD_REQUEST', message: 'the handler sent malformed JSON', nonRetryable: false } };
    }
    const env = new MockActivityEnvironment({ activityType: 'segment', activityId: request.id ?? 'runpod', taskQueue: 'runpod' });
    const t0 = performance.now();
    try {
      const output = await env.run(activities.segment, request.input as SegmentInput);
      log.info({ runpodJobId: request.id, ms: Math.round(performance.now() - t0) }, 'segmented');
      return { output };
    } catch (err) {
      const failure = err instanceof ApplicationFailure ? err : undefined;
      const error = {
        type: failure?.type ?? (err as Error)?.name ?? 'Error',
        message: (err as Error)?.message ?? String(err),
        nonRetryable: failure?.nonRetryable ?? false,
      };
      log.warn({ runpodJobId: request.id, ...error }, 'segment failed');
      return { error };
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${READY_PREFIX} ${(server.address() as AddressInfo).port}\n`);
  const stop = () => {
    server.close();
    storage.destroy();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
