import assert from 'node:assert/strict';
import { PLANS } from '../../domain/plans';
import { startApi, type TestApi } from '../support/api';
import { describeEachDatabase } from '../support/databases';

const rule = (over: Record<string, unknown> = {}) => ({
  name: 'Sage walls',
  preset_id: 'interior',
  concepts: ['wall', 'floor'],
  protect: ['person'],
  params: {
    operations: [
      { concept: 'wall', op: 'recolor', color: '#A3B18A', strength: 1 },
      { concept: 'floor', op: 'adjust', brightness: 1.1, saturation: 0.9 },
    ],
    feather_px: 2,
  },
  ...over,
});

describeEachDatabase('rules CRUD', (db) => {
  let api: TestApi;
  before(async () => {
    api = await startApi(db());
  });
  after(() => api.close());

  it('creates, reads, lists, patches and deletes a rule; /me counts the slot', async () => {
    const { token } = await api.signUp();
    const created = await api.request('POST', '/rules', { token, body: rule() });
    assert.equal(created.status, 201);
    const r = created.body.data;
    assert.equal(r.name, 'Sage walls');
    assert.deepEqual(
      r.params.operations[1],
      { concept: 'floor', op: 'adjust', brightness: 1.1, contrast: 1, saturation: 0.9, hue: 0 },
      'defaults filled',
    );
    assert.equal(r.created_at, r.updated_at);
    assert.equal((await api.request('GET', `/rules/${r.id}`, { token })).body.data.id, r.id);
    assert.deepEqual(
      (await api.request('GET', '/rules', { token })).body.data.map((x: any) => x.id),
      [r.id],
    );
    assert.equal((await api.request('GET', '/me', { token })).body.data.limits.rule_slots_used, 1);

    const patched = await api.request('PATCH', `/rules/${r.id}`, { token, body: { name: 'Renamed' } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.data.name, 'Renamed');
    assert.deepEqual(patched.body.data.concepts, ['wall', 'floor']);
    assert.ok(patched.body.data.updated_at > r.updated_at);

    const deleted = await api.request('DELETE', `/rules/${r.id}`, { token });
    assert.deepEqual(deleted.body.data, { deleted: true });
    assert.equal((await api.request('GET', `/rules/${r.id}`, { token })).status, 404);
    assert.equal((await api.request('GET', '/me', { token })).body.data.limits.rule_slots_used, 0);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['an unknown concept', { concepts: ['wall', 'garden'] }, 'concepts.1'],
    ['an unknown protect concept', { protect: ['dog'] }, 'protect.0'],
    ['an operation on a concept not chosen', { concepts: ['wall'] }, 'params.operations.1.concept'],
    ['a bad colour', { params: { operations: [{ concept: 'wall', op: 'recolor', color: 'green' }] } }, 'params.operations.0.color'],
    [
      'strength out of range',
      { params: { operations: [{ concept: 'wall', op: 'recolor', color: '#FFFFFF', strength: 2 }] } },
      'params.operations.0.strength',
    ],
    ['blur sigma 0', { params: { operations: [{ concept: 'wall', op: 'blur', sigma: 0 }] } }, 'params.operations.0.sigma'],
    [
      'feather over 32',
      { params: { operations: [{ concept: 'wall', op: 'replace', color: '#FFFFFF' }], feather_px: 40 } },
      'params.feather_px',
    ],
    ['an unknown op', { params: { operations: [{ concept: 'wall', op: 'paint', color: '#FFFFFF' }] } }, 'params.operations.0.op'],
    [
      'an unknown field in an operation',
      { params: { operations: [{ concept: 'wall', op: 'replace', color: '#FFFFFF', alpha: 1 }] } },
      'params.operations.0.alpha',
    ],
    ['an empty name', { name: '  ' }, 'name'],
  ];
  for (const [what, over, field] of invalid) {
    it(`rejects ${what} with 400 VALIDATION_ERROR naming ${field}`, async () => {
      const { token } = await api.signUp();
      const res = await api.request('POST', '/rules', { token, body: rule(over) });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'VALIDATION_ERROR');
      assert.ok(res.body.error.details.fields.includes(field), `${field} in ${res.body.error.details.fields}`);
    });
  }

  it('answers an unknown preset with 404', async () => {
    const { token } = await api.signUp();
    const res = await api.request('POST', '/rules', { token, body: rule({ preset_id: 'garden' }) });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'NOT_FOUND');
  });

  it('validates a PATCH against the merged rule and rejects an empty one', async () => {
    const { token } = await api.signUp();
    const id = (await api.request('POST', '/rules', { token, body: rule() })).body.data.id;
    const bad = await api.request('PATCH', `/rules/${id}`, { token, body: { preset_id: 'seller' } });
    assert.equal(bad.status, 400, 'wall is not a seller concept');
    const empty = await api.request('PATCH', `/rules/${id}`, { token, body: {} });
    assert.equal(empty.status, 400);
    assert.equal(empty.body.error.code, 'VALIDATION_ERROR');
    const unknown = await api.request('PATCH', `/rules/${id}`, { token, body: { owner: 'x' } });
    assert.deepEqual(unknown.body.error.details.fields, ['owner']);
  });

  it("hides another user's rule behind 404 on every verb", async () => {
    const a = await api.signUp();
    const b = await api.signUp();
    const id = (await api.request('POST', '/rules', { token: a.token, body: rule() })).body.data.id;
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { name: 'x' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await api.request(method, `/rules/${id}`, { token: b.token, body });
      assert.equal(res.status, 404, method);
      assert.equal(res.body.error.code, 'NOT_FOUND');
    }
    assert.equal((await api.request('GET', '/rules', { token: b.token })).body.data.length, 0);
    assert.equal((await api.request('GET', `/rules/${id}`, { token: a.token })).status, 200, 'still there for its owner');
  });

  it("enforces the plan's rule slots, also under concurrent creates, and frees a slot on delete", async () => {
    const { token } = await api.signUp();
    const slots = PLANS.free.ruleSlots;
    const results = await Promise.all(Array.from({ length: slots + 3 }, () => api.request('POST', '/rules', { token, body: rule() })));
    assert.equal(results.filter((r) => r.status === 201).length, slots);
    const refused = results.filter((r) => r.status !== 201);
    assert.ok(refused.every((r) => r.status === 409 && r.body.error.code === 'RULE_SLOTS_EXHAUSTED'));
    assert.deepEqual(refused[0].body.error.details, { rule_slots: slots, rule_slots_used: slots });
    const first = results.find((r) => r.status === 201)!.body.data.id;
    await api.request('DELETE', `/rules/${first}`, { token });
    assert.equal((await api.request('POST', '/rules', { token, body: rule() })).status, 201);
  });
});
