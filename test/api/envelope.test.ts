import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startApi, type TestApi } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/databases';

/** One request with any method (fetch refuses TRACE): status, headers and the parsed body. */
function raw(url: string, method: string): Promise<{ status: number; allow?: string; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, allow: res.headers.allow, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the envelope: methods no route serves', () => {
  let db: TestDatabase & { drop(): Promise<void> };
  let api: TestApi;
  const lines: { level: number; msg: string; path?: string }[] = [];
  before(async () => {
    db = await createTestDatabase('sqlite');
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    api = await startApi(db, {}, { log: pino({ level: 'debug' }, sink) });
  });
  after(async () => {
    await api.close();
    await db.drop();
  });

  for (const method of ['PROPFIND', 'TRACE', 'SEARCH', 'LOCK', 'PURGE']) {
    it(`answers ${method} with 405 METHOD_NOT_ALLOWED in the envelope, logged below ERROR`, async () => {
      lines.length = 0;
      for (const path of ['/presets', '/nowhere']) {
        const res = await raw(api.url + path, method);
        assert.equal(res.status, 405, `${method} ${path}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.success, false);
        assert.equal(res.body.error.code, 'METHOD_NOT_ALLOWED');
        assert.match(res.body.error.message, new RegExp(method));
        assert.ok(res.body.meta.request_id);
      }
      const errors = lines.filter((l) => l.level >= pino.levels.values.error);
      assert.deepEqual(errors, [], 'nothing logged at ERROR');
    });
  }

  it('keeps 405 with Allow for a known method a route does not take', async () => {
    const res = await raw(`${api.url}/presets`, 'DELETE');
    assert.equal(res.status, 405);
    assert.equal(res.body.error.code, 'METHOD_NOT_ALLOWED');
    assert.match(res.allow ?? '', /GET/);
  });

  it('never logs the credential of a provider webhook URL (its last path segment)', async () => {
    lines.length = 0;
    const secret = 'c2VjcmV0LXRhc2stdG9rZW4.0123456789abcdef0123456789abcdef';
    await fetch(`${api.url}/providers/runpod/job-1/0/${secret}`, { method: 'POST', body: '{}' });
    const logged = lines.filter((l) => l.msg === 'request');
    assert.ok(logged.length > 0, 'the request was logged');
    assert.ok(
      logged.every((l) => l.path === '/providers/runpod/job-1/0/<token>'),
      JSON.stringify(logged),
    );
    assert.ok(!JSON.stringify(lines).includes(secret), 'the token appears in no log line');
  });
});
