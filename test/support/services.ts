/**
 * Helpers that start the real local services for tests (the global setup uses them once per run; a test may start
 * a private extra server, e.g. to restart Temporal on the same db file).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startS3, type S3Options, type S3Server } from '../../scripts/stack/s3';
import { JOB_SEARCH_ATTRIBUTES, startTemporal, type TemporalOptions, type TemporalServer } from '../../scripts/stack/temporal';

export { getFreePort } from '../../scripts/stack/ports';
export { TEMPORAL_BIN } from '../../scripts/stack/tools';

/** Credentials of the test S3 server (the server refuses any other). */
export const TEST_S3 = {
  accessKey: 'test-access-key',
  secretKey: 'test-secret-key-0123456789',
  bucket: 's3-palette-test',
  region: 'us-east-1',
};

/** Service output is hidden in test runs unless SERVICES_LOG=1; crashes are reported with their last lines anyway. */
export function serviceLog(name: string): (line: string) => void {
  return process.env.SERVICES_LOG === '1' ? (line) => process.stderr.write(`[${name}] ${line}\n`) : () => {};
}

/** A fresh temporary directory (the caller removes it, or lets stop() of a server started here do it). */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `s3-${prefix}-`));
}

/**
 * A headless Temporal dev server on free ports with the job search attributes. Without `dbFile` it uses a fresh
 * file in a temp dir that stop() deletes; with one (a restart test) the file is left to the caller.
 */
export async function startTestTemporal(opts: Partial<TemporalOptions> = {}): Promise<TemporalServer> {
  const dir = opts.dbFile ? undefined : makeTempDir('temporal');
  const server = await startTemporal({
    headless: true,
    searchAttributes: JOB_SEARCH_ATTRIBUTES,
    log: serviceLog('temporal'),
    ...opts,
    dbFile: opts.dbFile ?? path.join(dir!, 'temporal.sqlite'),
  }).catch((err) => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return { ...server, stop: () => stopAndRemove(server, dir) };
}

/** A SeaweedFS S3 server on free ports with the TEST_S3 credentials and bucket, data in a temp dir unless given. */
export async function startTestS3(opts: Partial<S3Options> = {}): Promise<S3Server> {
  const dir = opts.dataDir ? undefined : makeTempDir('seaweed');
  const server = await startS3({
    accessKey: TEST_S3.accessKey,
    secretKey: TEST_S3.secretKey,
    bucket: TEST_S3.bucket,
    region: TEST_S3.region,
    log: serviceLog('s3'),
    stopGraceMs: opts.dataDir ? undefined : 200, // the data is deleted anyway
    ...opts,
    dataDir: opts.dataDir ?? dir!,
  }).catch((err) => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return { ...server, stop: () => stopAndRemove(server, dir) };
}

async function stopAndRemove(server: { stop(): Promise<void> }, dir: string | undefined): Promise<void> {
  await server.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/** Prints the last output of a service that dies while the tests still need it (otherwise tests just time out). */
export function reportCrash(name: string, server: TemporalServer | S3Server): void {
  void server.process.exited.then((e) => {
    if (server.process.stopping) return;
    const tail = server.process.recentOutput().slice(-30).join('\n');
    process.stderr.write(`\n[${name}] exited unexpectedly (code ${e.code}, signal ${e.signal}); last output:\n${tail}\n`);
  });
}
