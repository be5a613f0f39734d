import assert from 'node:assert/strict';
import sharp from 'sharp';
import { PLANS } from '../../domain/plans';
import { encodeScene, interiorScene, sellerScene } from '../../scripts/demo/scenes';
import { createCredits } from '../../services/credits';
import { describeEachDatabase } from '../support/databases';
import { startTestSystem, uploadAll, uploadSizes, waitForJob, type TestSystem } from '../support/stack';

const terminal = (v: any) => ['done', 'failed', 'canceled'].includes(v.status);
const SAGE = '#A3B18A';

describeEachDatabase('jobs end to end (API → Temporal → GPU worker → S3)', (db) => {
  let stack: TestSystem;
  before(async function () {
    this.timeout(120_000);
    stack = await startTestSystem(db());
  });
  after(() => stack?.close());

  /** A job for `files` (their sizes signed into the tickets), or for `n` inputs the test does not upload. */
  async function newJob(token: string, files: Buffer[] | number, contentType = 'image/png', headers: Record<string, string> = {}) {
    const sizes = uploadSizes(files);
    const res = await stack.api.request('POST', '/jobs', {
      token,
      body: { preset_id: 'interior', item_count: sizes.length, content_type: contentType, sizes },
      headers,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.data;
  }

  it('runs the happy path: reserve, upload, confirm, execute, results in storage, charge done items', async function () {
    this.timeout(120_000);
    const { token, userId } = await stack.api.signUp();
    const files = await Promise.all([0, 1, 2].map((i) => encodeScene(interiorScene(i), 'png')));
    const created = await newJob(token, files);
    assert.equal(created.job.status, 'created');
    assert.deepEqual(created.job.credits, { reserved: 3, charged: 0, refunded: 0 });
    assert.equal(created.uploads.length, 3);
    assert.equal(created.uploads[2].key, `inputs/${userId}/${created.job.id}/2.png`);
    assert.equal((await stack.api.request('GET', '/me', { token })).body.data.credits.available, PLANS.free.signupCredits - 3);

    await uploadAll(created.uploads, files);
    const confirmed = await stack.api.request('POST', `/jobs/${created.job.id}/confirm-upload`, { token });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    assert.equal(confirmed.body.data.status, 'uploaded');
    const again = await stack.api.request('POST', `/jobs/${created.job.id}/confirm-upload`, { token });
    assert.equal(again.status, 200, 'confirm is idempotent');

    const params = { operations: [{ concept: 'wall', op: 'recolor', color: SAGE }], feather_px: 0 };
    const exec = await stack.api.request('POST', `/jobs/${created.job.id}/execute`, {
      token,
      body: {
        concepts: ['wall', 'floor'],
        protect: ['person', 'window'],
        params: { operations: [...params.operations, { concept: 'floor', op: 'adjust', brightness: 1.2 }] },
      },
    });
    assert.equal(exec.status, 202, JSON.stringify(exec.body));
    assert.equal(exec.body.data.status, 'queued');

    const view = await waitForJob(stack.api, token, created.job.id, terminal);
    assert.equal(view.status, 'done', JSON.stringify(view.items.map((i: any) => i.error)));
    assert.deepEqual(view.progress, { total: 3, done: 3, failed: 0, running: 0, pending: 0, canceled: 0, percent: 100 });
    assert.deepEqual(view.credits, { reserved: 3, charged: 3, refunded: 0 });
    for (const item of view.items) {
      assert.equal(item.status, 'done');
      assert.ok(item.checks.delta_e_to_target.wall <= 3, `wall ΔE ${item.checks.delta_e_to_target.wall}`);
      assert.equal(item.checks.protected_changed_px, 0);
      assert.ok(item.checks.coverage.wall > 0.3 && item.checks.coverage.floor > 0.2, JSON.stringify(item.checks.coverage));
      assert.deepEqual(Object.keys(item.masks).sort(), ['floor', 'person', 'wall', 'window']);
      const result = await fetch(item.result_url);
      assert.equal(result.status, 200);
      const meta = await sharp(Buffer.from(await result.arrayBuffer())).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['png', 640, 480]);
      const preview = await sharp(Buffer.from(await (await fetch(item.preview_url)).arrayBuffer())).metadata();
      assert.ok(Math.max(preview.width!, preview.height!) <= 512);
    }
    const me = (await stack.api.request('GET', '/me', { token })).body.data;
    assert.deepEqual(me.credits, { balance: PLANS.free.signupCredits - 3, reserved: 0, available: PLANS.free.signupCredits - 3 });
    assert.equal(me.limits.active_jobs, 0);
    const ledger = await createCredits(db().ds).ledger(userId);
    assert.deepEqual(
      ledger.map((e) => [e.kind, e.amount]),
      [
        ['grant', 100],
        ['reserve', 3],
        ['charge', 3],
        ['release', 0],
      ],
    );
    // The list reads the DB mirror, which the workflow's last flush updates a moment after the job ends.
    let listed: any;
    for (let i = 0; i < 50 && listed?.status !== 'done'; i++, await new Promise((r) => setTimeout(r, 100))) {
      listed = (await stack.api.request('GET', '/jobs', { token })).body.data.items[0];
    }
    assert.equal(listed.id, created.job.id);
    assert.equal(listed.status, 'done');
    assert.deepEqual(listed.progress, view.progress, 'the list shows the same progress as the job');
  });

  it('fails a corrupt upload as an item (INVALID_IMAGE, not charged) while the job finishes', async function () {
    this.timeout(120_000);
    const { token } = await stack.api.signUp();
    const good = await encodeScene(interiorScene(3), 'jpeg');
    const files = [good, Buffer.from('this is not a jpeg at all'), good];
    const created = await newJob(token, files, 'image/jpeg');
    await uploadAll(created.uploads, files);
    assert.equal((await stack.api.request('POST', `/jobs/${created.job.id}/confirm-upload`, { token })).status, 200);
    assert.equal((await stack.api.request('POST', `/jobs/${created.job.id}/execute`, { token, body: { concepts: ['wall'] } })).status, 202);
    const view = await waitForJob(stack.api, token, created.job.id, terminal);
    assert.equal(view.status, 'done');
    assert.deepEqual(
      view.items.map((i: any) => i.status),
      ['done', 'failed', 'done'],
    );
    assert.equal(view.items[1].error.code, 'INVALID_IMAGE');
    assert.deepEqual(view.credits, { reserved: 3, charged: 2, refunded: 1 });
    assert.equal((await stack.api.request('GET', '/me', { token })).body.data.credits.balance, PLANS.free.signupCredits - 2);
  });

  it('writes results in the output_format execute asks for (jpeg), with the matching key and Content-Type', async function () {
    this.timeout(120_000);
    const { token } = await stack.api.signUp();
    const files = [await encodeScene(interiorScene(1), 'jpeg')];
    const created = await newJob(token, files, 'image/jpeg');
    await uploadAll(created.uploads, files);
    await stack.api.request('POST', `/jobs/${created.job.id}/confirm-upload`, { token });
    const bad = await stack.api.request('POST', `/jobs/${created.job.id}/execute`, {
      token,
      body: { concepts: ['wall'], output_format: 'gif' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'VALIDATION_ERROR');
    const body = { concepts: ['wall'], params: { operations: [{ concept: 'wall', op: 'recolor', color: SAGE }] }, output_format: 'jpeg' };
    assert.equal((await stack.api.request('POST', `/jobs/${created.job.id}/execute`, { token, body })).status, 202);
    const view = await waitForJob(stack.api, token, created.job.id, terminal);
    assert.equal(view.status, 'done', JSON.stringify(view));
    const item = view.items[0];
    assert.match(new URL(item.result_url).pathname, /\/outputs\/[^/]+\/[^/]+\/0_result\.jpg$/);
    const res = await fetch(item.result_url);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.ok(item.checks.delta_e_to_target.wall <= 3, JSON.stringify(item.checks));
  });

  it('answers confirm-upload with the missing items, and execute before confirm with INVALID_STATE', async () => {
    const { token } = await stack.api.signUp();
    const scene = await encodeScene(interiorScene(0), 'png');
    const created = await newJob(token, [scene, scene, scene]);
    await uploadAll(created.uploads.slice(1, 2), [scene, scene, scene]);
    const exec = await stack.api.request('POST', `/jobs/${created.job.id}/execute`, { token, body: { concepts: ['wall'] } });
    assert.equal(exec.status, 409);
    assert.equal(exec.body.error.code, 'INVALID_STATE');
    const res = await stack.api.request('POST', `/jobs/${created.job.id}/confirm-upload`, { token });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'UPLOAD_INCOMPLETE');
    assert.deepEqual(res.body.error.details.missing, [0, 2]);
    await stack.api.request('POST', `/jobs/${created.job.id}/cancel`, { token });
  });

  it('validates execute against the preset and the rule', async () => {
    const { token } = await stack.api.signUp();
    const created = await newJob(token, 1);
    const cases: [object, number, string][] = [
      [{ concepts: ['garden'] }, 400, 'VALIDATION_ERROR'],
      [{ concepts: ['wall'], protect: ['product'] }, 400, 'VALIDATION_ERROR'],
      [{ concepts: ['wall'], params: { operations: [{ concept: 'floor', op: 'replace', color: '#FFFFFF' }] } }, 400, 'VALIDATION_ERROR'],
      [{ concepts: ['wall'], rule_id: '01900000-0000-7000-8000-000000000000' }, 404, 'NOT_FOUND'],
      [
        { concepts: ['wall'], rule_id: 'x', params: { operations: [{ concept: 'wall', op: 'replace', color: '#FFFFFF' }] } },
        400,
        'VALIDATION_ERROR',
      ],
      [{ concepts: ['wall'], colour: 'red' }, 400, 'VALIDATION_ERROR'],
    ];
    for (const [body, status, code] of cases) {
      const res = await stack.api.request('POST', `/jobs/${created.job.id}/execute`, { token, body });
      assert.equal(res.status, status, JSON.stringify([body, res.body]));
      assert.equal(res.body.error.code, code);
    }
    await stack.api.request('POST', `/jobs/${created.job.id}/cancel`, { token });
  });

  it('never protects by default a concept the user changes (seller: product is both)', async function () {
    this.timeout(60_000);
    const { token } = await stack.api.signUp();
    const files = [await encodeScene(sellerScene(0), 'png')];
    const res = await stack.api.request('POST', '/jobs', {
      token,
      body: { preset_id: 'seller', item_count: 1, content_type: 'image/png', sizes: uploadSizes(files) },
    });
    const id = res.body.data.job.id;
    await uploadAll(res.body.data.uploads, files);
    await stack.api.request('POST', `/jobs/${id}/confirm-upload`, { token });
    const both = await stack.api.request('POST', `/jobs/${id}/execute`, { token, body: { concepts: ['product'], protect: ['product'] } });
    assert.equal(both.status, 400);
    assert.deepEqual(both.body.error.details.fields, ['protect']);
    const exec = await stack.api.request('POST', `/jobs/${id}/execute`, {
      token,
      body: { concepts: ['product'], params: { operations: [{ concept: 'product', op: 'recolor', color: '#2C3E5C' }] } },
    });
    assert.equal(exec.status, 202);
    const view = await waitForJob(stack.api, token, id, terminal);
    assert.deepEqual(Object.keys(view.items[0].masks).sort(), ['logo', 'product'], 'logo protected by default, product not');
    assert.ok(view.items[0].checks.delta_e_to_target.product <= 3, 'the product was recolored');
  });

  it('cancels mid-run: no item starts after the cancel, the rest is refunded', async function () {
    this.timeout(120_000);
    const { token, userId } = await stack.api.signUp();
    const n = 10;
    const big = await encodeScene(interiorScene(1, 1600, 1200), 'png');
    const created = await newJob(token, Array(n).fill(big));
    await uploadAll(created.uploads, Array(n).fill(big));
    await stack.api.request('POST', `/jobs/${created.job.id}/confirm-upload`, { token });
    await stack.api.request('POST', `/jobs/${created.job.id}/execute`, { token, body: { concepts: ['wall', 'floor'] } });
    await waitForJob(stack.api, token, created.job.id, (v) => v.progress.done >= 1);
    const canceled = await stack.api.request('POST', `/jobs/${created.job.id}/cancel`, { token });
    assert.equal(canceled.status, 200, JSON.stringify(canceled.body));
    const v = canceled.body.data;
    assert.equal(v.status, 'canceled');
    assert.ok(v.progress.done >= 1 && v.progress.done < n, `done ${v.progress.done}`);
    assert.equal(v.progress.running + v.progress.pending, 0);
    assert.deepEqual(v.credits, { reserved: n, charged: v.progress.done, refunded: n - v.progress.done });
    await new Promise((r) => setTimeout(r, 1500));
    const later = await waitForJob(stack.api, token, created.job.id, terminal);
    assert.equal(later.progress.done, v.progress.done, 'nothing finished after the cancel');
    const results = await Promise.all(
      later.items.map((i: any) => stack.storage.head(`outputs/${userId}/${created.job.id}/${i.idx}_result.png`)),
    );
    assert.equal(results.filter(Boolean).length, v.progress.done, 'no result written after the cancel');
    assert.equal((await stack.api.request('POST', `/jobs/${created.job.id}/cancel`, { token })).status, 200, 'cancel again: 200');
    const me = (await stack.api.request('GET', '/me', { token })).body.data;
    assert.equal(me.credits.balance, PLANS.free.signupCredits - v.progress.done);
    assert.equal(me.credits.reserved, 0);
  });

  it('binds tickets to the declared sizes, writes each input once, and refuses the tickets of a canceled job', async () => {
    const { token } = await stack.api.signUp();
    const scene = await encodeScene(interiorScene(0, 320, 240), 'png');
    const created = await newJob(token, [scene, scene, scene]);
    const [first, second, third] = created.uploads;
    assert.deepEqual(first.headers, { 'Content-Type': 'image/png', 'Content-Length': String(scene.length), 'If-None-Match': '*' });
    const put = (u: any, body: Buffer) =>
      fetch(u.url, { method: 'PUT', headers: { ...u.headers, 'Content-Length': String(body.length) }, body });
    assert.equal((await put(first, Buffer.concat([scene, Buffer.alloc(1)]))).status, 403, 'another size than declared');
    assert.equal((await put(first, scene)).status, 200);
    assert.equal((await put(first, scene)).status, 412, 'an input is written once');
    assert.equal((await stack.api.request('POST', `/jobs/${created.job.id}/cancel`, { token })).status, 200);
    assert.equal((await put(second, scene)).status, 412, 'a canceled job’s ticket');
    assert.equal((await put(third, scene)).status, 412, 'a canceled job’s ticket');
    const again = await stack.api.request('POST', '/jobs', { token, body: { preset_id: 'interior', item_count: 1, sizes: [] } });
    assert.equal(again.status, 400);
    assert.deepEqual(again.body.error.details.fields, ['sizes']);
  });

  it('refuses to cancel a finished job', async function () {
    this.timeout(60_000);
    const { token } = await stack.api.signUp();
    const files = [await encodeScene(interiorScene(2), 'png')];
    const created = await newJob(token, files);
    await uploadAll(created.uploads, files);
    await stack.api.request('POST', `/jobs/${created.job.id}/confirm-upload`, { token });
    await stack.api.request('POST', `/jobs/${created.job.id}/execute`, { token, body: { concepts: ['wall'] } });
    await waitForJob(stack.api, token, created.job.id, (v) => v.status === 'done');
    const res = await stack.api.request('POST', `/jobs/${created.job.id}/cancel`, { token });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'INVALID_STATE');
  });

  it('makes creates idempotent per Idempotency-Key (one reservation) and refuses a reused key', async () => {
    const { token } = await stack.api.signUp();
    const headers = { 'Idempotency-Key': 'create-42' };
    const body = { preset_id: 'interior', item_count: 4, content_type: 'image/png', sizes: [1000, 2000, 3000, 4000] };
    const [a, b] = await Promise.all([
      stack.api.request('POST', '/jobs', { token, body, headers }),
      stack.api.request('POST', '/jobs', { token, body, headers }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 201]);
    assert.equal(a.body.data.job.id, b.body.data.job.id);
    assert.deepEqual([a.body.data.job.credits.reserved, b.body.data.job.credits.reserved], [4, 4], 'both see the reservation');
    assert.equal(a.body.data.uploads.length, 4);
    assert.equal(b.body.data.uploads.length, 4);
    const c = await stack.api.request('POST', '/jobs', { token, body, headers });
    assert.equal(c.status, 200);
    assert.equal(c.body.data.job.id, a.body.data.job.id);
    assert.equal(c.body.data.uploads.length, 4);
    assert.equal((await stack.api.request('GET', '/me', { token })).body.data.credits.reserved, 4, 'one reservation');
    const reused = await stack.api.request('POST', '/jobs', {
      token,
      body: { ...body, item_count: 5, sizes: [...body.sizes, 5000] },
      headers,
    });
    assert.equal(reused.status, 409);
    assert.equal(reused.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
    const resized = await stack.api.request('POST', '/jobs', { token, body: { ...body, sizes: [1000, 2000, 3000, 4001] }, headers });
    assert.equal(resized.status, 409, 'the sizes are part of the body');
    const bad = await stack.api.request('POST', '/jobs', { token, body, headers: { 'Idempotency-Key': 'é'.repeat(3) } });
    assert.equal(bad.status, 400);
    await stack.api.request('POST', `/jobs/${a.body.data.job.id}/cancel`, { token });
  });

  it('answers concurrent creates beyond the active-job limit with 429 and too expensive ones with 402', async () => {
    const { token } = await stack.api.signUp();
    const body = { preset_id: 'seller', item_count: 1, sizes: [1024] };
    const results = await Promise.all(Array.from({ length: 5 }, () => stack.api.request('POST', '/jobs', { token, body })));
    const ok = results.filter((r) => r.status === 201);
    assert.equal(ok.length, PLANS.free.maxActiveJobs);
    for (const r of results.filter((x) => x.status !== 201)) {
      assert.equal(r.status, 429);
      assert.equal(r.body.error.code, 'TOO_MANY_ACTIVE_JOBS');
    }
    assert.equal(
      (await stack.api.request('GET', '/jobs', { token })).body.data.items.length,
      PLANS.free.maxActiveJobs,
      'refused jobs leave no trace',
    );
    for (const r of ok) await stack.api.request('POST', `/jobs/${r.body.data.job.id}/cancel`, { token });
    const other = await stack.api.signUp();
    const tooMany = await stack.api.request('POST', '/jobs', {
      token: other.token,
      body: { preset_id: 'interior', item_count: PLANS.free.maxItemsPerJob + 1, sizes: uploadSizes(PLANS.free.maxItemsPerJob + 1) },
    });
    assert.equal(tooMany.status, 400);
    assert.ok(tooMany.body.error.details.fields.includes('item_count'));
  });

  it('answers a job beyond the available credits with 402 and the numbers', async () => {
    const { token } = await stack.api.signUp();
    const first = await newJob(token, 50);
    const second = await newJob(token, 45);
    const res = await stack.api.request('POST', '/jobs', {
      token,
      body: { preset_id: 'interior', item_count: 10, sizes: uploadSizes(10) },
    });
    assert.equal(res.status, 402, 'credits are checked before the active-job limit');
    assert.equal(res.body.error.code, 'INSUFFICIENT_CREDITS');
    assert.deepEqual(res.body.error.details, { needed: 10, available: PLANS.free.signupCredits - 95 });
    for (const j of [first, second]) await stack.api.request('POST', `/jobs/${j.job.id}/cancel`, { token });
    const after = (await stack.api.request('GET', '/me', { token })).body.data.credits;
    assert.deepEqual(after, { balance: PLANS.free.signupCredits, reserved: 0, available: PLANS.free.signupCredits });
  });

  it("hides another user's job behind 404 everywhere", async () => {
    const owner = await stack.api.signUp();
    const other = await stack.api.signUp();
    const created = await newJob(owner.token, 1);
    const id = created.job.id;
    for (const [method, path, body] of [
      ['GET', `/jobs/${id}`, undefined],
      ['POST', `/jobs/${id}/confirm-upload`, undefined],
      ['POST', `/jobs/${id}/execute`, { concepts: ['wall'] }],
      ['POST', `/jobs/${id}/cancel`, undefined],
      ['GET', `/jobs/${id}/events`, undefined],
    ] as const) {
      const res = await stack.api.request(method, path, { token: other.token, body });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error.code, 'NOT_FOUND');
    }
    assert.equal((await stack.api.request('GET', '/jobs', { token: other.token })).body.data.items.length, 0);
    await stack.api.request('POST', `/jobs/${id}/cancel`, { token: owner.token });
  });

  it('pages GET /jobs newest first with a cursor', async () => {
    const { token } = await stack.api.signUp();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const j = await newJob(token, 1);
      ids.push(j.job.id);
      await stack.api.request('POST', `/jobs/${j.job.id}/cancel`, { token });
    }
    const page1 = (await stack.api.request('GET', '/jobs?limit=1', { token })).body.data;
    assert.deepEqual(
      page1.items.map((j: any) => j.id),
      [ids[1]],
    );
    assert.ok(page1.next_cursor);
    const page2 = (await stack.api.request('GET', `/jobs?limit=1&cursor=${page1.next_cursor}`, { token })).body.data;
    assert.deepEqual(
      page2.items.map((j: any) => j.id),
      [ids[0]],
    );
    assert.equal(page2.next_cursor, null);
    assert.equal((await stack.api.request('GET', '/jobs?limit=500', { token })).status, 400);
  });

  it('streams progress over SSE and ends with the terminal JobView', async function () {
    this.timeout(120_000);
    const { token } = await stack.api.signUp();
    const files = [await encodeScene(interiorScene(0), 'png'), await encodeScene(interiorScene(1), 'png')];
    const created = await newJob(token, files);
    await uploadAll(created.uploads, files);
    await stack.api.request('POST', `/jobs/${created.job.id}/confirm-upload`, { token });
    const res = await fetch(`${stack.api.url}/jobs/${created.job.id}/events`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: progress')) text += new TextDecoder().decode((await reader.read()).value);
    await stack.api.request('POST', `/jobs/${created.job.id}/execute`, { token, body: { concepts: ['wall'] } });
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += new TextDecoder().decode(chunk.value); // closed after `end`
    const events = text
      .split('\n\n')
      .filter((b) => b.includes('event:'))
      .map((b) => ({
        event: /event: (\w+)/.exec(b)![1],
        data: JSON.parse(/data: (.*)/.exec(b)![1]),
      }));
    const progress = events.filter((e) => e.event === 'progress');
    assert.equal(progress[0].data.status, 'uploaded');
    assert.ok(progress.some((e) => e.data.status === 'done'));
    const end = events.at(-1)!;
    assert.equal(end.event, 'end');
    assert.equal(end.data.status, 'done');
    assert.equal(end.data.items.length, 2);
    const percents = progress.map((e) => e.data.progress.percent);
    assert.deepEqual(
      percents,
      [...percents].sort((a, b) => a - b),
      'progress never goes backwards',
    );
  });
});
