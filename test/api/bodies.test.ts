import assert from 'node:assert/strict';
import { startApi, type TestApi } from '../support/api';
import { describeEachDatabase } from '../support/databases';

describeEachDatabase('request bodies and the envelope', (db) => {
  let api: TestApi;
  let token: string;
  before(async () => {
    api = await startApi(db());
    ({ token } = await api.signUp());
  });
  after(() => api.close());

  it('answers malformed JSON with 400 INVALID_JSON', async () => {
    const res = await api.request('POST', '/rules', { token, raw: '{"name": "x",', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'INVALID_JSON');
  });

  it('refuses malformed JSON also on routes that take no body, and does nothing', async () => {
    const id = (
      await api.request('POST', '/rules', {
        token,
        body: {
          name: 'r',
          preset_id: 'seller',
          concepts: ['background'],
          params: { operations: [{ concept: 'background', op: 'replace', color: '#FFFFFF' }] },
        },
      })
    ).body.data.id;
    const res = await api.request('DELETE', `/rules/${id}`, { token, raw: '{"oops', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'INVALID_JSON');
    assert.equal((await api.request('GET', `/rules/${id}`, { token })).status, 200, 'the rule is still there');
    const anonymous = await api.request('DELETE', `/rules/${id}`, { raw: '{"oops', headers: { 'content-type': 'application/json' } });
    assert.equal(anonymous.status, 401, 'the token is checked first');
  });

  it('answers a body over 64 KiB with 413 PAYLOAD_TOO_LARGE, declared or chunked', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(70 * 1024) });
    const res = await api.request('POST', '/rules', { token, raw: big, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'PAYLOAD_TOO_LARGE');
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const chunked = await fetch(`${api.url}/rules`, {
      method: 'POST',
      body: stream,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 413);
    assert.equal(((await chunked.json()) as any).error.code, 'PAYLOAD_TOO_LARGE');
  });

  it('answers wrong types with 400 VALIDATION_ERROR naming each field', async () => {
    const res = await api.request('POST', '/rules', {
      token,
      body: { name: 5, preset_id: 'interior', concepts: 'wall', params: { operations: [] } },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'VALIDATION_ERROR');
    const fields = res.body.error.details.fields as string[];
    for (const f of ['name', 'concepts', 'params.operations']) assert.ok(fields.includes(f), `${f} in ${fields}`);
  });

  it('answers unknown routes with a 404 envelope and wrong methods with 405', async () => {
    const missing = await api.request('GET', '/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'NOT_FOUND');
    const wrong = await api.request('PUT', '/presets');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.body.error.code, 'METHOD_NOT_ALLOWED');
  });
});
