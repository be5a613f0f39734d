import assert from 'node:assert/strict';
import jwt from 'jsonwebtoken';
import { PLANS } from '../../domain/plans';
import { startApi, TEST_JWT_SECRET, type TestApi } from '../support/api';
import { describeEachDatabase } from '../support/databases';

describeEachDatabase('POST /auth/anon and authentication', (db) => {
  let api: TestApi;
  before(async () => {
    api = await startApi(db());
  });
  after(() => api.close());

  it('creates an anonymous user with the free grant and a working HS256 token', async () => {
    const res = await api.request('POST', '/auth/anon', { body: {} });
    assert.equal(res.status, 201);
    assert.equal(res.body.success, true);
    assert.equal(res.body.error, null);
    const { token, token_type, expires_in, user } = res.body.data;
    assert.equal(token_type, 'Bearer');
    assert.equal(expires_in, 30 * 24 * 3600);
    assert.deepEqual(user.credits, { balance: PLANS.free.signupCredits, reserved: 0, available: PLANS.free.signupCredits });
    const decoded = jwt.verify(token, TEST_JWT_SECRET, { algorithms: ['HS256'] }) as jwt.JwtPayload;
    assert.equal(decoded.sub, user.id);
    assert.ok(decoded.exp! - decoded.iat! === expires_in);
    const me = await api.request('GET', '/me', { token });
    assert.equal(me.status, 200);
    assert.equal(me.body.data.id, user.id);
  });

  it('echoes a client X-Request-Id in the header and meta, and makes one up otherwise', async () => {
    const mine = await api.request('GET', '/presets', { headers: { 'x-request-id': 'client-req-42' } });
    assert.equal(mine.headers.get('x-request-id'), 'client-req-42');
    assert.equal(mine.body.meta.request_id, 'client-req-42');
    const made = await api.request('GET', '/presets');
    assert.match(made.headers.get('x-request-id')!, /^[0-9a-f-]{36}$/);
    assert.equal(made.body.meta.request_id, made.headers.get('x-request-id'));
  });

  it('rejects unknown fields in the sign-up body', async () => {
    const res = await api.request('POST', '/auth/anon', { body: { plan: 'studio' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'VALIDATION_ERROR');
    assert.deepEqual(res.body.error.details.fields, ['plan']);
  });

  const attacks: [string, () => Promise<string | undefined>][] = [
    ['no token', async () => undefined],
    ['garbage', async () => 'not-a-jwt'],
    [
      'alg none',
      async () => {
        const { userId } = await api.signUp();
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: userId, exp: Math.floor(Date.now() / 1000) + 600 })}.`;
      },
    ],
    [
      'wrong secret',
      async () => jwt.sign({}, 'another-secret-0123456789', { algorithm: 'HS256', subject: (await api.signUp()).userId, expiresIn: 600 }),
    ],
    [
      'expired',
      async () =>
        jwt.sign({ exp: Math.floor(Date.now() / 1000) - 10 }, TEST_JWT_SECRET, {
          algorithm: 'HS256',
          subject: (await api.signUp()).userId,
        }),
    ],
    ['no expiry', async () => jwt.sign({}, TEST_JWT_SECRET, { algorithm: 'HS256', subject: (await api.signUp()).userId })],
    [
      'HS512 with the right secret',
      async () => jwt.sign({}, TEST_JWT_SECRET, { algorithm: 'HS512', subject: (await api.signUp()).userId, expiresIn: 600 }),
    ],
    ['unknown user', async () => jwt.sign({}, TEST_JWT_SECRET, { algorithm: 'HS256', subject: 'no-such-user', expiresIn: 600 })],
  ];
  for (const [name, make] of attacks) {
    it(`answers 401 UNAUTHORIZED for ${name}`, async () => {
      const token = await make();
      const res = await api.request('GET', '/me', token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 401);
      assert.equal(res.body.success, false);
      assert.equal(res.body.error.code, 'UNAUTHORIZED');
    });
  }

  it('rate-limits sign-ups per client IP with Retry-After', async () => {
    const limited = await startApi(db(), { ANON_RATE_LIMIT: '3', ANON_RATE_WINDOW: '1h' });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await limited.request('POST', '/auth/anon')).status, 201);
      const res = await limited.request('POST', '/auth/anon');
      assert.equal(res.status, 429);
      assert.equal(res.body.error.code, 'RATE_LIMITED');
      const retry = Number(res.headers.get('retry-after'));
      assert.ok(retry > 3500 && retry <= 3600, `Retry-After ${retry}`);
      assert.equal((await limited.request('GET', '/presets')).status, 200, 'other routes are not limited');
    } finally {
      await limited.close();
    }
  });

  it('keys the sign-up limit on the address the trusted proxy saw, not on what the client put in X-Forwarded-For', async () => {
    const behindProxy = await startApi(db(), { ANON_RATE_LIMIT: '2', TRUST_PROXY_HOPS: '1' });
    try {
      const from = (xff: string) => behindProxy.request('POST', '/auth/anon', { headers: { 'x-forwarded-for': xff } });
      assert.equal((await from('9.9.9.1, 203.0.113.5')).status, 201);
      assert.equal((await from('9.9.9.2, 203.0.113.5')).status, 201);
      assert.equal((await from('9.9.9.3, 203.0.113.5')).status, 429, 'a spoofed left entry does not buy a new budget');
      assert.equal((await from('198.51.100.7')).status, 201, 'another client has its own budget');
    } finally {
      await behindProxy.close();
    }
    const direct = await startApi(db(), { ANON_RATE_LIMIT: '1' });
    try {
      assert.equal((await direct.request('POST', '/auth/anon', { headers: { 'x-forwarded-for': '1.1.1.1' } })).status, 201);
      assert.equal(
        (await direct.request('POST', '/auth/anon', { headers: { 'x-forwarded-for': '2.2.2.2' } })).status,
        429,
        'without a proxy the header is ignored',
      );
    } finally {
      await direct.close();
    }
  });
});
