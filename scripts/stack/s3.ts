/**
 * SeaweedFS (`weed server` with filer and S3 gateway) as a child process: loopback only, every port free or given,
 * one identity whose access key/secret are required (anonymous requests are refused, SigV4 signatures verified).
 */
import fs from 'node:fs';
import path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createStorage, type StorageConfig } from '../../services/storage';
import { getFreePorts, isPortOpen } from './ports';
import { startProcess, waitFor, type ManagedProcess } from './process';
import { WEED_BIN } from './tools';

export interface S3Options {
  /** S3 API port (default: a free port). Master, volume, filer and gRPC ports are always free ports. */
  port?: number;
  /** Data directory (volumes, filer metadata, master state); kept between runs for `npm run dev`. */
  dataDir: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region?: string;
  log?: (line: string) => void;
  startTimeoutMs?: number;
  /** How long stop() waits before SIGKILL (default 3000; throw-away test data needs none). */
  stopGraceMs?: number;
}

export interface S3Server {
  endpoint: string;
  /** The child process (exited / recentOutput for crash reports). */
  process: ManagedProcess;
  /** The StorageConfig that reaches this server with the configured credentials. */
  storageConfig: StorageConfig;
  stop(): Promise<void>;
}

/** glog lines start with I/W/E/F and a date; only warnings and worse are worth showing. */
const interesting = (line: string) => /^[WEF]\d{4} /.test(line) && !/SSE-S3|STS service/.test(line);

/** Starts SeaweedFS, waits until the S3 API accepts a signed write, and creates the bucket. */
export async function startS3(opts: S3Options): Promise<S3Server> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startS3Once(opts);
    } catch (err) {
      // Its ports are picked free, then bound by weed a moment later: a process starting beside it (the test setup
      // starts Temporal at the same time) can take one first. New free ports then; a port that was given stays.
      if (!(err instanceof PortTakenError) || opts.port !== undefined || attempt >= 3) throw err;
    }
  }
}

/** weed died because one of its ports was taken between picking and binding. */
class PortTakenError extends Error {}

async function startS3Once(opts: S3Options): Promise<S3Server> {
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3Grpc, freeS3] = await getFreePorts(8);
  const port = opts.port ?? freeS3;
  if (opts.port !== undefined && (await isPortOpen(port))) {
    throw new Error(`port ${port} for the S3 server is already in use (is another stack running?)`);
  }
  const dataDir = path.resolve(opts.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  // The master keeps its raft state in m<port>/, and its port is a new free port on every run: drop the old ones.
  // A single master needs no history; it rebuilds the topology (and the max volume id) from the volume heartbeats.
  for (const entry of fs.readdirSync(dataDir)) {
    if (/^m\d+$/.test(entry)) fs.rmSync(path.join(dataDir, entry), { recursive: true, force: true });
  }

  // Rewritten on every start so a credentials change in .env applies. "Admin" covers bucket creation.
  const identities = path.join(dataDir, 's3-identities.json');
  const identity = {
    name: 'app',
    credentials: [{ accessKey: opts.accessKey, secretKey: opts.secretKey }],
    actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
  };
  fs.writeFileSync(identities, JSON.stringify({ identities: [identity] }, null, 2), { mode: 0o600 });

  // weed leaves unix sockets named after ports in /tmp when killed; these ports are free, so the sockets are stale.
  const sockets = [
    `master-grpc-${masterGrpc}`,
    `volume-grpc-${volumeGrpc}`,
    `filer-grpc-${filerGrpc}`,
    `s3-grpc-${s3Grpc}`,
    `filer-${filer}`,
    `s3-${port}`,
  ].map((s) => `/tmp/seaweedfs-${s}.sock`);
  const removeSockets = () => sockets.forEach((s) => fs.rmSync(s, { force: true }));
  removeSockets();

  const args = [
    'server',
    `-dir=${dataDir}`,
    '-ip=127.0.0.1', // the address the components advertise to each other
    '-ip.bind=127.0.0.1', // and listen on: loopback only
    `-master.port=${master}`,
    `-master.port.grpc=${masterGrpc}`,
    '-master.volumeSizeLimitMB=64', // small volumes: fast start, little disk (files are sparse, not preallocated)
    '-master.telemetry=false',
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volumeGrpc}`,
    '-volume.max=0', // number of volumes auto-sized from free disk space
    '-volume.preStopSeconds=0', // stop at once on SIGTERM
    '-filer',
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filerGrpc}`,
    '-s3',
    `-s3.port=${port}`,
    `-s3.port.grpc=${s3Grpc}`,
    '-s3.port.iceberg=0', // no Iceberg catalog (it would take the fixed port 8181)
    '-s3.port.lance=0', // no Lance namespace server (fixed port 9101)
    '-s3.iam=false', // no embedded IAM API: identities come from the config file only
    `-s3.config=${identities}`,
  ];
  const proc = startProcess({ name: 's3', command: WEED_BIN, args, log: opts.log, filter: interesting });
  const endpoint = `http://127.0.0.1:${port}`;
  const storageConfig: StorageConfig = {
    STORAGE_S3_ENDPOINT: endpoint,
    STORAGE_ACCESS_KEY: opts.accessKey,
    STORAGE_SECRET_KEY: opts.secretKey,
    STORAGE_BUCKET: opts.bucket,
    STORAGE_REGION: opts.region ?? 'us-east-1',
    STORAGE_FORCE_PATH_STYLE: true,
  };
  const stop = async () => {
    // The volume server and master stop in milliseconds, but the filer waits ~15 s for the S3 gateway's metadata
    // subscription to drain (seen with 4.48 on a fresh dir). Its leveldb journal survives a kill, so do not wait.
    await proc.stop(opts.stopGraceMs ?? 3000);
    removeSockets();
  };
  try {
    const timeoutMs = opts.startTimeoutMs ?? 60_000;
    await waitFor(`S3 at ${endpoint}`, async () => (await fetch(endpoint)).status > 0, { timeoutMs, proc });
    const storage = createStorage(storageConfig);
    try {
      // The filer and volume server register with the master a moment after the S3 port opens: retry until a
      // signed write really lands.
      const waitOpts = { timeoutMs, proc, retryable: notClientError };
      await waitFor(`bucket ${opts.bucket}`, () => storage.ensureBucket().then(() => true), waitOpts);
      await waitFor('a first write', () => probeWrite(storageConfig), waitOpts);
    } finally {
      storage.destroy();
    }
  } catch (err) {
    await stop();
    if (proc.recentOutput().some((line) => /bind: address already in use/.test(line))) {
      throw new PortTakenError((err as Error).message);
    }
    throw err;
  }
  return { endpoint, process: proc, storageConfig, stop };
}

/** A 4xx (bad bucket name, refused credentials) will not go away by waiting; 5xx and network errors may. */
function notClientError(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return status === undefined || status >= 500;
}

async function probeWrite(cfg: StorageConfig): Promise<boolean> {
  const s3 = new S3Client({
    endpoint: cfg.STORAGE_S3_ENDPOINT,
    region: cfg.STORAGE_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: cfg.STORAGE_ACCESS_KEY, secretAccessKey: cfg.STORAGE_SECRET_KEY },
    maxAttempts: 1,
  });
  try {
    const key = '.stack-ready-probe';
    await s3.send(new PutObjectCommand({ Bucket: cfg.STORAGE_BUCKET, Key: key, Body: 'ok' }));
    await s3.send(new DeleteObjectCommand({ Bucket: cfg.STORAGE_BUCKET, Key: key }));
    return true;
  } finally {
    s3.destroy();
  }
}
