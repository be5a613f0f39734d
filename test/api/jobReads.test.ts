/**
 * The cheap read path of GET /jobs/{id}: items paged, ETag + If-None-Match → 304, no Temporal call for a job whose
 * mirror row is terminal, inputs served as their declared image type for download.
 */
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import { v7 as uuidv7 } from 'uuid';
import { parseConfig } from '../../domain/config';
import { setChecksOf } from '../../domain/setChecks';
import { inputKey, previewKey, resultKey } from '../../domain/storageKeys';
import { JobExportLog } from '../../entities/JobExportLog';
import { JobItemLog } from '../../entities/JobItemLog';
import { JobLog } from '../../entities/JobLog';
import { JobVariantLog } from '../../entities/JobVariantLog';
import { createStorage, type Storage } from '../../services/storage';
import { startApi, type TestApi } from '../support/api';
import { describeEachDatabase } from '../support/databases';

describeEachDatabase('GET /jobs/{id} read path', (db) => {
  let api: TestApi;
  let storage: Storage;
  let temporal: Client;
  let temporalCalls = 0;
  let token: string;
  let userId: string;
  let jobId: string;
  const N = 130;

  before(async () => {
    storage = createStorage(parseConfig(process.env));
    // Every workflow call of the API is counted; the address leads nowhere, so a call would also be slow.
    temporal = new Client({
      connection: Connection.lazy({ address: '127.0.0.1:1' }),
      interceptors: {
        workflow: [
          {
            query: (input, next) => (temporalCalls++, next(input)),
            startUpdate: (input, next) => (temporalCalls++, next(input)),
          },
        ],
      },
    });
    api = await startApi(db(), { TEMPORAL_CALL_TIMEOUT: '1s' }, { jobs: { storage, temporal } });
    const user = await api.signUp();
    token = user.token;
    userId = user.userId;
    jobId = uuidv7();
    const now = new Date();
    await db().ds.getRepository(JobLog).insert({
      id: jobId,
      userId: user.userId,
      presetId: 'interior',
      status: 'done',
      itemCount: N,
      contentType: 'image/jpeg',
      creditsReserved: N,
      creditsCharged: N,
      createdAt: now,
      updatedAt: now,
      finishedAt: now,
      reservedAt: now,
    });
    const rows = Array.from({ length: N }, (_, idx) => ({
      jobId,
      idx,
      status: 'done' as const,
      resultKey: resultKey(user.userId, jobId, idx),
      previewKey: previewKey(user.userId, jobId, idx),
      masks: {},
      updatedAt: now,
    }));
    for (let i = 0; i < N; i += 50)
      await db()
        .ds.getRepository(JobItemLog)
        .insert(rows.slice(i, i + 50));
  });
  after(async () => {
    await api?.close();
    await temporal?.connection.close().catch(() => undefined);
    storage?.destroy();
  });

  it('lists at most 100 items by default and pages with items_offset / items_limit', async () => {
    const first = await api.request('GET', `/jobs/${jobId}`, { token });
    assert.equal(first.status, 200);
    assert.equal(first.body.data.item_count, N);
    assert.deepEqual(
      first.body.data.items.map((i: any) => i.idx),
      Array.from({ length: 100 }, (_, i) => i),
    );
    const rest = await api.request('GET', `/jobs/${jobId}?items_offset=100&items_limit=50`, { token });
    assert.deepEqual(
      rest.body.data.items.map((i: any) => i.idx),
      Array.from({ length: N - 100 }, (_, i) => 100 + i),
    );
    assert.equal(first.body.data.progress.done, N, 'progress counts every item, not the page');
    for (const bad of ['items_limit=101', 'items_limit=0', 'items_offset=-1', 'items_offset=x']) {
      const res = await api.request('GET', `/jobs/${jobId}?${bad}`, { token });
      assert.equal(res.status, 400, bad);
      assert.equal(res.body.error.code, 'VALIDATION_ERROR');
    }
  });

  it('pages a job whose rule colours a concept: progress and set checks count every item, not the page', async () => {
    const id = uuidv7();
    const M = 120;
    const params = { operations: [{ concept: 'wall', op: 'recolor' as const, color: '#A3B18A', strength: 1 }], feather_px: 0 };
    const now = new Date();
    await db().ds.getRepository(JobLog).insert({
      id,
      userId,
      presetId: 'interior',
      status: 'done',
      itemCount: M,
      contentType: 'image/jpeg',
      params,
      creditsReserved: M,
      creditsCharged: 99,
      createdAt: now,
      updatedAt: now,
      finishedAt: now,
      reservedAt: now,
    });
    // Items 110.. never reached the mirror; every tenth from 3 failed.
    const rows = Array.from({ length: 110 }, (_, idx) =>
      idx % 10 === 3
        ? { jobId: id, idx, status: 'failed' as const, errorCode: 'INVALID_IMAGE', errorMessage: 'bad', updatedAt: now }
        : {
            jobId: id,
            idx,
            status: 'done' as const,
            resultKey: resultKey(userId, id, idx),
            masks: { wall: `masks/${idx}.png` },
            checks: { protected_changed_px: 0, delta_e_to_target: {}, coverage: {}, mean_lab: { wall: [50 + idx / 10, 1, -idx / 50] } },
            updatedAt: now,
          },
    );
    await db().ds.getRepository(JobItemLog).insert(rows.slice(0, 60));
    await db().ds.getRepository(JobItemLog).insert(rows.slice(60));
    const expected = setChecksOf(params, rows as { status: string; checks?: any }[]);
    assert.equal(expected.wall.items, 99);
    for (const q of ['', '?items_offset=100', '?items_offset=40&items_limit=20', '?items_offset=200']) {
      const res = await api.request('GET', `/jobs/${id}${q}`, { token });
      assert.equal(res.status, 200, q);
      assert.deepEqual(res.body.data.set_checks, expected, q);
      assert.deepEqual(res.body.data.progress, { total: M, done: 99, failed: 11, running: 0, pending: 10, canceled: 0, percent: 91.7 }, q);
    }
    const tail = (await api.request('GET', `/jobs/${id}?items_offset=100`, { token })).body.data.items;
    assert.deepEqual(
      tail.map((i: any) => [i.idx, i.status]),
      Array.from({ length: 20 }, (_, k) => [100 + k, 100 + k >= 110 ? 'pending' : (100 + k) % 10 === 3 ? 'failed' : 'done']),
    );
    assert.deepEqual(tail[3].error, { code: 'INVALID_IMAGE', message: 'bad' });
    assert.match(tail[0].masks.wall, /\/masks\/100\.png\?/);
    assert.equal(tail[0].checks.mean_lab.wall[0], 60);
  });

  it('answers 304 without a body for If-None-Match of the current ETag, 200 for another', async () => {
    const first = await api.request('GET', `/jobs/${jobId}`, { token });
    const etag = first.headers.get('etag');
    assert.match(etag ?? '', /^W\/".+"$/);
    const again = await api.request('GET', `/jobs/${jobId}`, { token, headers: { 'if-none-match': etag! } });
    assert.equal(again.status, 304);
    assert.equal(again.body, undefined);
    assert.equal(again.headers.get('etag'), etag);
    const other = await api.request('GET', `/jobs/${jobId}?items_limit=10`, { token, headers: { 'if-none-match': etag! } });
    assert.equal(other.status, 200, 'another page is another representation');
    assert.notEqual(other.headers.get('etag'), etag);
  });

  it("reuses a terminal job's page only while its row and variants are unchanged", async () => {
    const path = `/jobs/${jobId}?items_limit=3`;
    const first = await api.request('GET', path, { token });
    assert.deepEqual(first.body.data.credits, { reserved: N, charged: N, refunded: 0 });
    assert.deepEqual(first.body.data.variants, []);
    const again = await api.request('GET', path, { token });
    assert.equal(again.headers.get('etag'), first.headers.get('etag'));
    assert.notEqual(again.body.meta.request_id, first.body.meta.request_id, 'the envelope is per request');

    await db().ds.getRepository(JobLog).update({ id: jobId }, { creditsRefunded: 1 });
    const settled = await api.request('GET', path, { token });
    assert.equal(settled.body.data.credits.refunded, 1, 'a changed row is a new page');
    assert.notEqual(settled.headers.get('etag'), first.headers.get('etag'));

    const now = new Date();
    await db()
      .ds.getRepository(JobVariantLog)
      .insert({
        jobId,
        n: 1,
        userId,
        status: 'running',
        rule: { params: { operations: [], feather_px: 0 } },
        outputFormat: 'png',
        requestHash: 'h',
        items: [
          { idx: 0, status: 'done' },
          { idx: 1, status: 'pending' },
        ] as any,
        creditsReserved: 1,
        createdAt: now,
        updatedAt: now,
      });
    const withVariant = await api.request('GET', path, { token });
    assert.deepEqual(
      withVariant.body.data.variants.map((v: any) => [v.n, v.status, v.progress.done]),
      [[1, 'running', 1]],
      'a new variant is a new page',
    );
    await db().ds.getRepository(JobVariantLog).delete({ jobId });
    await db().ds.getRepository(JobLog).update({ id: jobId }, { creditsRefunded: 0 });
  });

  it('serves a terminal job from the mirror without calling Temporal', async () => {
    temporalCalls = 0;
    for (let i = 0; i < 3; i++) assert.equal((await api.request('GET', `/jobs/${jobId}`, { token })).status, 200);
    assert.equal(temporalCalls, 0);
  });

  it('hands out input URLs that serve the declared image type as a download', async () => {
    const item = (await api.request('GET', `/jobs/${jobId}?items_limit=1`, { token })).body.data.items[0];
    const url = new URL(item.input_url);
    assert.equal(url.searchParams.get('response-content-type'), 'image/jpeg');
    assert.match(url.searchParams.get('response-content-disposition') ?? '', /^attachment/);
    // The store accepts the signature (URLs are signed without the SDK's presigner) and serves the declared type.
    await storage.ensureBucket();
    await storage.put(inputKey(userId, jobId, 0, 'image/jpeg'), Buffer.from('<html>not an image</html>'), 'text/html');
    const res = await fetch(item.input_url);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment/);
  });

  it("answers 404 for another user's job and for an unknown id", async () => {
    const other = await api.signUp();
    for (const id of [jobId, uuidv7()]) {
      const res = await api.request('GET', `/jobs/${id}`, { token: other.token });
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'NOT_FOUND');
    }
  });

  it('lists the newest 20 exports, with the fields of ExportView, and a changed export changes the ETag', async () => {
    const exports = db().ds.getRepository(JobExportLog);
    const t0 = Date.now() - 60_000;
    const row = (i: number, status: JobExportLog['status']) =>
      exports.create({
        id: uuidv7(),
        jobId,
        userId,
        template: i % 2 ? 'grid' : 'zip',
        variant: 0,
        format: i % 2 ? 'jpeg' : 'zip',
        requestHash: `h${i}`,
        status,
        objectKey: `exports/${userId}/${jobId}/${i}`,
        bytes: status === 'done' ? 100 : null,
        errorCode: null,
        errorMessage: null,
        createdAt: new Date(t0 + i * 1000),
        finishedAt: status === 'done' ? new Date(t0 + i * 1000 + 500) : null,
      });
    const rows = Array.from({ length: 25 }, (_, i) => row(i, i === 24 ? 'running' : 'done'));
    await exports.insert(rows);
    const first = await api.request('GET', `/jobs/${jobId}`, { token });
    assert.equal(first.status, 200);
    const listed = first.body.data.exports;
    assert.deepEqual(
      listed.map((e: any) => e.id),
      rows
        .slice(5)
        .reverse()
        .map((r) => r.id),
      'the newest 20, newest first',
    );
    assert.deepEqual(Object.keys(listed[0]).sort(), ['created_at', 'expires_at', 'id', 'status', 'template', 'variant']);
    assert.deepEqual([listed[0].status, listed[0].template, listed[0].variant], ['running', 'zip', 0]);
    // The same values ExportView shows for it.
    const one = (await api.request('GET', `/jobs/${jobId}/exports/${listed[1].id}`, { token })).body.data;
    assert.deepEqual(
      [listed[1].status, listed[1].template, listed[1].variant, listed[1].created_at, listed[1].expires_at],
      [one.status, one.template, one.variant, one.created_at, one.expires_at],
    );

    // The export finishes: a poll with the old ETag gets the new status, not 304.
    const etag = first.headers.get('etag')!;
    await exports.update({ id: rows[24].id }, { status: 'done', bytes: 100, finishedAt: new Date() });
    const finished = await api.request('GET', `/jobs/${jobId}`, { token, headers: { 'if-none-match': etag } });
    assert.equal(finished.status, 200);
    assert.equal(finished.body.data.exports[0].status, 'done');
    // A new export: listed first, another ETag again.
    const newer = row(25, 'queued');
    await exports.insert(newer);
    const next = await api.request('GET', `/jobs/${jobId}`, { token, headers: { 'if-none-match': finished.headers.get('etag')! } });
    assert.equal(next.status, 200);
    assert.deepEqual([next.body.data.exports[0].id, next.body.data.exports[0].status], [newer.id, 'queued']);
    assert.equal(next.body.data.exports.length, 20);
    const unchanged = await api.request('GET', `/jobs/${jobId}`, { token, headers: { 'if-none-match': next.headers.get('etag')! } });
    assert.equal(unchanged.status, 304);
  });
});
