/**
 * Each dependency stopped under a running API: reads fall back to the DB mirror, writes answer 503 UNAVAILABLE with
 * Retry-After within the Temporal call deadline, /readyz names what is down, and nothing answers 500. The answer
 * times are printed as a table (they are figures for the report, not assertions; the bounds below only catch hangs).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openDatabase } from '../../entities/dataSource';
import type { ManagedProcess } from '../../scripts/stack/process';
import type { ApiResponse } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/databases';
import { startPrivateMariaDb } from '../support/mariadb';
import { spawnWorker } from '../support/processes';
import { makeTempDir, startTestS3, startTestTemporal, TEST_S3 } from '../support/services';
import { startTestSystem, type TestSystem } from '../support/stack';

const DEADLINE = '4s';
/** The deadline and a margin for the request's own DB work on a loaded machine: every answer comes within it. */
const HANG_MS = 6_000;
const times: { dependency: string; request: string; status: string; ms: number }[] = [];

async function timed(dependency: string, request: string, fn: () => Promise<ApiResponse>): Promise<ApiResponse> {
  const t0 = Date.now();
  const res = await fn();
  const ms = Date.now() - t0;
  times.push({ dependency, request, status: `${res.status}${res.body?.error ? ` ${res.body.error.code}` : ''}`, ms });
  assert.ok(ms < HANG_MS, `${request} took ${ms} ms with ${dependency} down`);
  return res;
}

function assertUnavailable(res: ApiResponse, what: string): void {
  assert.equal(res.status, 503, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.error.code, 'UNAVAILABLE');
  assert.ok(Number(res.headers.get('retry-after')) > 0, `${what}: Retry-After`);
}

async function createJob(stack: TestSystem, token: string): Promise<string> {
  const res = await stack.api.request('POST', '/jobs', {
    token,
    body: { preset_id: 'interior', item_count: 2, content_type: 'image/png', sizes: [1024, 1024] },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.data.job.id;
}

/** Polls /readyz until `down` is reported; returns how long that took. */
async function readyzReports(stack: TestSystem, dependency: string, down: string, since: number): Promise<void> {
  for (;;) {
    const t0 = Date.now();
    const res = await stack.api.request('GET', '/readyz');
    if (res.status === 503 && res.body.error.details.down.includes(down)) {
      times.push({ dependency, request: 'GET /readyz (one call)', status: `503 names ${down}`, ms: Date.now() - t0 });
      times.push({ dependency, request: 'GET /readyz: stop → reported', status: '', ms: Date.now() - since });
      return;
    }
    assert.ok(Date.now() - since < 150_000, `/readyz still says ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The requests every scenario makes once `dependency` is down; `reads` says whether GETs still answer 200. */
async function probe(stack: TestSystem, dependency: string, token: string, jobId: string, reads: 'mirror' | 'down') {
  const get = await timed(dependency, 'GET /jobs/{id}', () => stack.api.request('GET', `/jobs/${jobId}`, { token }));
  if (reads === 'mirror') {
    assert.equal(get.status, 200, JSON.stringify(get.body));
    assert.equal(get.body.data.status, 'created');
  } else assertUnavailable(get, 'GET /jobs/{id}');
  const post = await timed(dependency, 'POST /jobs', () =>
    stack.api.request('POST', '/jobs', { token, body: { preset_id: 'interior', item_count: 1, content_type: 'image/png', sizes: [1024] } }),
  );
  assertUnavailable(post, 'POST /jobs');
  const cancel = await timed(dependency, 'POST /jobs/{id}/cancel', () => stack.api.request('POST', `/jobs/${jobId}/cancel`, { token }));
  assertUnavailable(cancel, 'cancel');
}

describe('the API with a dependency stopped', function () {
  this.timeout(400_000);
  after(() => {
    console.log('\n    answer times with a dependency stopped (TEMPORAL_CALL_TIMEOUT=%s)', DEADLINE);
    console.table(times);
  });

  it('orchestration worker: reads from the mirror, 503 for writes, /readyz reports the absent worker', async () => {
    const db = await createTestDatabase('sqlite');
    const stack = await startTestSystem(db, { gpu: false, cpu: false, orchestration: false, env: { TEMPORAL_CALL_TIMEOUT: DEADLINE } });
    let worker: ManagedProcess | undefined;
    try {
      worker = await spawnWorker('worker', stack, { DATABASE_URL: db.url });
      const { token } = await stack.api.signUp();
      const jobId = await createJob(stack, token);
      assert.equal((await stack.api.request('GET', '/readyz')).status, 200);
      await worker.stop(5000);
      const stopped = Date.now();
      await probe(stack, 'orchestration worker', token, jobId, 'mirror');
      await readyzReports(stack, 'orchestration worker', 'orchestration_worker', stopped);
    } finally {
      await worker?.stop(1000);
      await stack.close();
      await db.drop();
    }
  });

  it('Temporal: reads from the mirror, 503 for writes, /readyz reports it', async () => {
    // Its own file, so the same server comes back afterwards and the stack closes cleanly (workers drain, no client
    // retries left running against a closed channel).
    const dbFile = join(makeTempDir('temporal-down'), 'temporal.sqlite');
    let temporal = await startTestTemporal({ dbFile });
    const port = Number(temporal.address.split(':').pop());
    const db = await createTestDatabase('sqlite');
    const stack = await startTestSystem(db, {
      gpu: false,
      cpu: false,
      env: { TEMPORAL_ADDRESS: temporal.address, TEMPORAL_CALL_TIMEOUT: DEADLINE },
    });
    try {
      const { token } = await stack.api.signUp();
      const jobId = await createJob(stack, token);
      await temporal.stop();
      const stopped = Date.now();
      await probe(stack, 'Temporal', token, jobId, 'mirror');
      await readyzReports(stack, 'Temporal', 'temporal', stopped);
      temporal = await startTestTemporal({ dbFile, port });
    } finally {
      await stack.close();
      await temporal.stop();
      await db.drop();
    }
  });

  it('SeaweedFS: 503 where storage is needed, /readyz reports it', async () => {
    const s3 = await startTestS3();
    const db = await createTestDatabase('sqlite');
    const stack = await startTestSystem(db, {
      gpu: false,
      cpu: false,
      env: { STORAGE_S3_ENDPOINT: s3.endpoint, STORAGE_BUCKET: TEST_S3.bucket, TEMPORAL_CALL_TIMEOUT: DEADLINE },
    });
    try {
      const { token } = await stack.api.signUp();
      const jobId = await createJob(stack, token);
      await s3.stop();
      const stopped = Date.now();
      const get = await timed('SeaweedFS', 'GET /jobs/{id}', () => stack.api.request('GET', `/jobs/${jobId}`, { token }));
      assert.equal(get.status, 200, 'presigning needs no round trip to the store');
      const confirm = await timed('SeaweedFS', 'POST /jobs/{id}/confirm-upload', () =>
        stack.api.request('POST', `/jobs/${jobId}/confirm-upload`, { token }),
      );
      assertUnavailable(confirm, 'confirm-upload');
      await readyzReports(stack, 'SeaweedFS', 'storage', stopped);
      // Cancelling an unconfirmed job seals its upload keys first: the seal gives up after its 8 s, the job settles,
      // and the cancel still answers 200 inside the workflow's 20 s answer bound.
      const t0 = Date.now();
      const cancel = await stack.api.request('POST', `/jobs/${jobId}/cancel`, { token });
      const ms = Date.now() - t0;
      times.push({ dependency: 'SeaweedFS', request: 'POST /jobs/{id}/cancel (unconfirmed: seal first)', status: `${cancel.status}`, ms });
      assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
      assert.equal(cancel.body.data.status, 'canceled');
      assert.ok(ms < 15_000, `cancel took ${ms} ms with the store down`);
    } finally {
      await stack.close();
      await db.drop();
    }
  });

  it('MariaDB: 503 (never 500) on every route that needs it, /readyz reports it', async () => {
    const maria = await startPrivateMariaDb();
    const ds = await openDatabase(maria.url);
    const db: TestDatabase = { kind: 'mariadb', url: maria.url, ds };
    const stack = await startTestSystem(db, { gpu: false, cpu: false, env: { TEMPORAL_CALL_TIMEOUT: DEADLINE } });
    try {
      const { token } = await stack.api.signUp();
      const jobId = await createJob(stack, token);
      await maria.kill();
      const stopped = Date.now();
      for (const [request, go] of [
        ['GET /me', () => stack.api.request('GET', '/me', { token })],
        ['GET /jobs', () => stack.api.request('GET', '/jobs', { token })],
        ['POST /auth/anon', () => stack.api.request('POST', '/auth/anon')],
      ] as const) {
        assertUnavailable(await timed('MariaDB', request, go), request);
      }
      await probe(stack, 'MariaDB', token, jobId, 'down');
      await readyzReports(stack, 'MariaDB', 'database', stopped);
    } finally {
      await Promise.race([stack.close(), new Promise((r) => setTimeout(r, 10_000))]);
      await ds.destroy().catch(() => undefined);
      await maria.stop();
    }
  });
});
