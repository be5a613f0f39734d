/**
 * The embedded local stack: a Temporal dev server and a SeaweedFS S3 server, started together for `npm run dev`,
 * the demo and the tests. Production talks to a real Temporal cluster and R2/S3 with the same code.
 */
import path from 'node:path';
import type { Config } from '../../domain/config';
import { startS3, type S3Server } from './s3';
import { JOB_SEARCH_ATTRIBUTES, startTemporal, type TemporalServer } from './temporal';
import { ensureTools, TEMPORAL_BIN } from './tools';

export { getFreePort, getFreePorts } from './ports';
export { prefixedLogger, startProcess, type ManagedProcess } from './process';
export { startS3, type S3Options, type S3Server } from './s3';
export { JOB_SEARCH_ATTRIBUTES, startTemporal, type TemporalOptions, type TemporalServer } from './temporal';
export { ensureTools, REPO_ROOT, TEMPORAL_BIN, WEED_BIN } from './tools';

/** The part of the config the stack needs (a full Config fits). */
export type StackConfig = Pick<
  Config,
  'TEMPORAL_NAMESPACE' | 'STORAGE_ACCESS_KEY' | 'STORAGE_SECRET_KEY' | 'STORAGE_BUCKET' | 'STORAGE_REGION'
>;

export interface StackOptions {
  /** Holds temporal.sqlite and seaweed/ (kept between runs so workflows and objects survive restarts). */
  dataDir: string;
  /** Default: free ports (the demo and tests); `npm run dev` uses 7233 / 8233 / 8333. */
  temporalPort?: number;
  temporalUiPort?: number;
  s3Port?: number;
  /** Receives each interesting output line with its source (default: printed as `[source] line`). */
  log?: (source: 'temporal' | 's3', line: string) => void;
}

export interface Stack {
  temporal: TemporalServer;
  s3: S3Server;
  /** Environment variables that point the app processes at this stack. */
  env: Record<string, string>;
  /** Resolves when either server exits (for crash detection). */
  exited: Promise<string>;
  stop(): Promise<void>;
}

/** Starts Temporal and S3 in parallel; if one fails, the other is stopped before the error is thrown. */
export async function startStack(config: StackConfig, opts: StackOptions): Promise<Stack> {
  ensureTools();
  const log = (source: 'temporal' | 's3') => (opts.log ? (line: string) => opts.log!(source, line) : undefined);
  const [temporal, s3] = await Promise.allSettled([
    startTemporal({
      port: opts.temporalPort,
      uiPort: opts.temporalUiPort,
      dbFile: path.join(opts.dataDir, 'temporal.sqlite'),
      namespace: config.TEMPORAL_NAMESPACE,
      searchAttributes: JOB_SEARCH_ATTRIBUTES,
      log: log('temporal'),
    }),
    startS3({
      port: opts.s3Port,
      dataDir: path.join(opts.dataDir, 'seaweed'),
      accessKey: config.STORAGE_ACCESS_KEY,
      secretKey: config.STORAGE_SECRET_KEY,
      bucket: config.STORAGE_BUCKET,
      region: config.STORAGE_REGION,
      log: log('s3'),
    }),
  ]);
  if (temporal.status === 'rejected' || s3.status === 'rejected') {
    await Promise.all([temporal, s3].map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw temporal.status === 'rejected' ? temporal.reason : (s3 as PromiseRejectedResult).reason;
  }
  const t = temporal.value;
  const s = s3.value;
  return {
    temporal: t,
    s3: s,
    env: {
      TEMPORAL_ADDRESS: t.address,
      TEMPORAL_NAMESPACE: t.namespace,
      TEMPORAL_CLI_PATH: TEMPORAL_BIN,
      STORAGE_S3_ENDPOINT: s.endpoint,
      STORAGE_ACCESS_KEY: config.STORAGE_ACCESS_KEY,
      STORAGE_SECRET_KEY: config.STORAGE_SECRET_KEY,
      STORAGE_BUCKET: config.STORAGE_BUCKET,
      STORAGE_REGION: config.STORAGE_REGION,
      STORAGE_FORCE_PATH_STYLE: 'true',
    },
    exited: Promise.race([t.process.exited.then(() => 'temporal'), s.process.exited.then(() => 's3')]),
    stop: async () => {
      await Promise.all([t.stop(), s.stop()]);
    },
  };
}
