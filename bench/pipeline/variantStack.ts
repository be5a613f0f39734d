/**
 * A diagnostic variant of the local stack for bench:pipeline: the same Temporal CLI dev server and SeaweedFS as
 * scripts/stack's startStack, but with another Temporal store (the old rollback-journal SQLite, or in memory) or extra
 * `temporal server start-dev` arguments (e.g. dynamic config), to measure what the dev server's persistence costs.
 * The default bench path uses startStack itself; this is only used with --temporal-rollback / --temporal-memory /
 * --temporal-arg.
 */
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import type { Stack, StackConfig } from '../../scripts/stack';
import { ensureTools, getFreePort, JOB_SEARCH_ATTRIBUTES, startProcess, startS3, TEMPORAL_BIN } from '../../scripts/stack';
import { waitFor } from '../../scripts/stack/process';
import { ensureSearchAttributes } from '../../scripts/stack/temporal';

/** The dev server's store: startStack's SQLite file in WAL mode, the CLI's default rollback journal, or in memory. */
export type TemporalStore = 'wal' | 'rollback' | 'memory';

/** The pragmas scripts/stack/temporal.ts starts the dev server with (the `wal` store). */
const WAL_PRAGMAS = ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'];

/** How the variant differs from startStack, and where its data and output go. */
export interface VariantOptions {
  dataDir: string;
  store: TemporalStore;
  /** Extra arguments for `temporal server start-dev`. */
  args: string[];
  log: (source: 'temporal' | 's3', line: string) => void;
}

/** Starts Temporal (with the variant's store and arguments) then SeaweedFS, like startStack. */
export async function startVariantStack(config: StackConfig, opts: VariantOptions): Promise<Stack> {
  ensureTools();
  const port = await getFreePort();
  const address = `127.0.0.1:${port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--headless',
    '--log-level',
    'warn',
    '--log-format',
    'text',
  ];
  if (opts.store !== 'memory') args.push('--db-filename', join(opts.dataDir, 'temporal.sqlite'));
  if (opts.store === 'wal') args.push(...WAL_PRAGMAS);
  args.push(...opts.args);
  const proc = startProcess({ name: 'temporal', command: TEMPORAL_BIN, args, log: (line) => opts.log('temporal', line) });
  try {
    await waitFor(
      `Temporal at ${address}`,
      async () => {
        const c = await Connection.connect({ address, connectTimeout: 1000 });
        try {
          await c.workflowService.describeNamespace({ namespace: config.TEMPORAL_NAMESPACE });
          await ensureSearchAttributes(c, config.TEMPORAL_NAMESPACE, JOB_SEARCH_ATTRIBUTES);
          return true;
        } finally {
          await c.close();
        }
      },
      { timeoutMs: 60_000, proc },
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  let s3;
  try {
    s3 = await startS3({
      dataDir: join(opts.dataDir, 'seaweed'),
      accessKey: config.STORAGE_ACCESS_KEY,
      secretKey: config.STORAGE_SECRET_KEY,
      bucket: config.STORAGE_BUCKET,
      region: config.STORAGE_REGION,
      log: (line) => opts.log('s3', line),
    });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const temporal = {
    address,
    namespace: config.TEMPORAL_NAMESPACE,
    uiUrl: null,
    process: proc,
    stop: async () => void (await proc.stop()),
  };
  return {
    temporal,
    s3,
    env: {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: config.TEMPORAL_NAMESPACE,
      STORAGE_S3_ENDPOINT: s3.endpoint,
      STORAGE_ACCESS_KEY: config.STORAGE_ACCESS_KEY,
      STORAGE_SECRET_KEY: config.STORAGE_SECRET_KEY,
      STORAGE_BUCKET: config.STORAGE_BUCKET,
      STORAGE_REGION: config.STORAGE_REGION,
      STORAGE_FORCE_PATH_STYLE: 'true',
    },
    exited: Promise.race([proc.exited.then(() => 'temporal'), s3.process.exited.then(() => 's3')]),
    stop: async () => {
      await Promise.all([proc.stop(), s3.stop()]);
    },
  };
}
