/**
 * `npm run bench:api`: the read path every phone polls. GET /jobs/{id} of a done 12-item job and of a done 500-item
 * job (default page: 100 items) against a Koa + @koa/router JSON hello-world, both served by this process and measured
 * with autocannon (its CLI, in a child process) in the same run, so the ratio holds on any machine. Needs no running services: the jobs are terminal, so the API
 * answers from the DB mirror (SQLite in a temp dir) and never calls Temporal (its client points nowhere and would
 * fail); presigning is local SigV4 signing.
 *
 * What is charged as a real server pays it: the request log line at info (JSON, written to /dev/null instead of
 * stdout), the user look-up of every authenticated request, the item rows read per call. What is warm, as it is for a
 * phone polling one job: the presigned URLs of the listed items (cached for half their lifetime: the first call of a
 * job signs them, and is reported apart as the cold call), a done job's serialized page (reused for up to a minute
 * while its row and variants are unchanged: every poll after a job's first within that minute), and the verified
 * token (a phone sends the same one). The `api:` line is that default configuration; the line before it measures the
 * same API with every page rebuilt (JOB_VIEW_CACHE_MB=0: URLs cached, pages not), and the cold first call is printed.
 *
 * Env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 50).
 * Last line: `api: job12 <ratio>% of hello-world p99 <ms> ms, job500 <ms> ms per call`.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Router from '@koa/router';
import { Client, Connection } from '@temporalio/client';
import type autocannon from 'autocannon';
import Koa from 'koa';
import pino from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { createApp } from '../api/app';
import { issueToken } from '../api/auth';
import { parseConfig } from '../domain/config';
import { maskKey, previewKey, resultKey } from '../domain/storageKeys';
import { openDatabase } from '../entities/dataSource';
import { JobItemLog } from '../entities/JobItemLog';
import { JobLog } from '../entities/JobLog';
import { createCredits } from '../services/credits';
import { createStorage } from '../services/storage';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const AUTOCANNON = require.resolve('autocannon/autocannon.js');
const execFileAsync = promisify(execFile);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);

async function listen(app: Koa): Promise<{ url: string; close: () => void }> {
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/**
 * autocannon in a child process (its own CLI, JSON out): the load generator gets its own event loop instead of
 * sharing the server's, as a phone fleet would. Both servers are measured the same way.
 */
async function load(url: string, headers: Record<string, string> = {}) {
  const args = [AUTOCANNON, '-j', '-c', String(CONNECTIONS), '-d', String(DURATION)];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const { stdout } = await execFileAsync(process.execPath, [...args, url], { maxBuffer: 64 * 2 ** 20 });
  const r = JSON.parse(stdout) as autocannon.Result;
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

/** A done job of `n` items with a result, a preview and two masks each, as the workflow's mirror leaves it. */
async function seedDoneJob(ds: import('typeorm').DataSource, userId: string, n: number): Promise<string> {
  const id = uuidv7();
  const now = new Date();
  await ds.getRepository(JobLog).insert({
    id,
    userId,
    presetId: 'interior',
    status: 'done',
    itemCount: n,
    contentType: 'image/jpeg',
    idempotencyKey: null,
    requestHash: null,
    creditsReserved: n,
    creditsCharged: n,
    creditsRefunded: 0,
    createdAt: now,
    updatedAt: now,
    finishedAt: now,
    reservedAt: now,
  });
  const rows = Array.from({ length: n }, (_, idx) => ({
    jobId: id,
    idx,
    status: 'done' as const,
    errorCode: null,
    errorMessage: null,
    resultKey: resultKey(userId, id, idx),
    previewKey: previewKey(userId, id, idx),
    masks: { wall: maskKey(userId, id, idx, 'wall'), floor: maskKey(userId, id, idx, 'floor') },
    checks: { protected_changed_px: 0, delta_e_to_target: { wall: 1.2 }, coverage: { wall: 0.4 } },
    updatedAt: now,
  }));
  for (let i = 0; i < rows.length; i += 100) await ds.getRepository(JobItemLog).insert(rows.slice(i, i + 100));
  return id;
}

/** CPU milliseconds of this process per sequential GET (the fetch client's side included: an upper bound for the API). */
async function cpuPerCall(url: string, token: string, calls: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i++) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
    await res.arrayBuffer();
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / calls;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 's3-bench-api-'));
  const config = parseConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: `sqlite:${join(dir, 'api.sqlite')}` });
  const ds = await openDatabase(config.DATABASE_URL);
  const storage = createStorage(config);
  // Points nowhere: a terminal job must be served without any Temporal call.
  const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const credits = createCredits(ds);
  const user = await credits.createUser('free');
  const token = issueToken(config.JWT_SECRET, user.id, 3600);
  const job12 = await seedDoneJob(ds, user.id, 12);
  const job500 = await seedDoneJob(ds, user.id, 500);
  // The server's logger (services/logger.ts) at the default level, into /dev/null.
  const log = pino({ name: 'api', level: 'info', base: { service: 'api' } }, pino.destination({ dest: '/dev/null', sync: true }));
  // Counts the URLs actually signed (the app's presign cache sits in front of this storage).
  let signed = 0;
  const counted = { ...storage, presignGet: (...a: Parameters<typeof storage.presignGet>) => (signed++, storage.presignGet(...a)) };
  const api = await listen(createApp({ config, ds, credits, log, checks: {}, jobs: { storage: counted, temporal } }));
  // The same API with every page rebuilt (no reuse of serialized pages): what a call costs when its page is not warm.
  const rebuildConfig = { ...config, JOB_VIEW_CACHE_MB: 0 };
  const rebuilding = await listen(createApp({ config: rebuildConfig, ds, credits, log, checks: {}, jobs: { storage, temporal } }));

  const hello = new Koa();
  const router = new Router();
  router.get('/hello', (ctx) => {
    ctx.body = { hello: 'world' };
  });
  hello.use(router.routes());
  const helloServer = await listen(hello);

  try {
    const auth = { authorization: `Bearer ${token}` };
    const cold500 = await cpuPerCall(`${api.url}/jobs/${job500}`, token, 1); // every URL signed for the first time
    const signedCold = signed;
    await cpuPerCall(`${rebuilding.url}/jobs/${job500}`, token, 1); // its own presign cache: sign once
    const results = {
      'hello-world': await load(`${helloServer.url}/hello`),
      'GET job12': await load(`${api.url}/jobs/${job12}`, auth),
      'GET job500 (page of 100)': await load(`${api.url}/jobs/${job500}`, auth),
      'GET job12, page rebuilt': await load(`${rebuilding.url}/jobs/${job12}`, auth),
      'GET job500, page rebuilt': await load(`${rebuilding.url}/jobs/${job500}`, auth),
    };
    const etag = (await fetch(`${api.url}/jobs/${job12}`, { headers: auth })).headers.get('etag')!;
    const notModified = await load(`${api.url}/jobs/${job12}`, { ...auth, 'if-none-match': etag });
    const warm500 = await cpuPerCall(`${api.url}/jobs/${job500}`, token, 50);
    const rebuilt500 = await cpuPerCall(`${rebuilding.url}/jobs/${job500}`, token, 50);
    console.log(`GET /jobs/{id}: autocannon ${CONNECTIONS} connections, ${DURATION} s each`);
    console.table({ ...results, 'GET job12 If-None-Match (304)': notModified });
    console.log(
      `job500 CPU per call: first ${cold500.toFixed(1)} ms (cold signing), page rebuilt ${rebuilt500.toFixed(1)} ms (URLs cached), then ${warm500.toFixed(1)} ms (page reused)`,
    );
    console.log(
      `URLs signed: ${signedCold} by the first job500 call, ${signed - signedCold} after it (presign cache: PRESIGN_TTL_SECONDS/2 = ${config.PRESIGN_TTL_SECONDS / 2} s)`,
    );
    const h = results['hello-world'];
    const j = results['GET job12'];
    const r = results['GET job12, page rebuilt'];
    console.log(
      `page rebuilt every call (JOB_VIEW_CACHE_MB=0): job12 ${((100 * r.rps) / h.rps).toFixed(1)}% of hello-world p99 ${r.p99} ms, job500 ${rebuilt500.toFixed(1)} ms per call`,
    );
    console.log(
      `api: job12 ${((100 * j.rps) / h.rps).toFixed(1)}% of hello-world p99 ${j.p99} ms, job500 ${warm500.toFixed(1)} ms per call`,
    );
  } finally {
    api.close();
    rebuilding.close();
    helloServer.close();
    await temporal.connection.close().catch(() => undefined);
    storage.destroy();
    await ds.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
