import assert from 'node:assert/strict';
import { ApiError } from '../../api/errors';
import { resolveExecute, type RuleLookup } from '../../api/executeRequest';
import { ExecuteJobRequest } from '../../api/schemas';
import { defaultParams } from '../../domain/ruleParams';
import { findPreset, type Preset } from '../../domain/presets';

const job = { userId: 'user-1', presetId: 'interior' };
const interior = findPreset('interior') as Preset;
const SAGE = { concept: 'wall', op: 'recolor', color: '#A3B18A' };
const saved = {
  presetId: 'interior',
  concepts: ['floor'],
  protect: ['plant'],
  params: ExecuteJobRequest.parse({ concepts: ['floor'], params: { operations: [{ concept: 'floor', op: 'replace', color: '#FFFFFF' }] } })
    .params!,
};
/** A rule store with one rule of user-1 ('r1', interior) and one of another preset ('r2', seller). */
const rules: RuleLookup = async (id, userId) => {
  if (userId !== 'user-1') return null;
  if (id === 'r1') return saved;
  if (id === 'r2') return { ...saved, presetId: 'seller' };
  return null;
};
const resolve = (body: unknown) => resolveExecute(rules, job, ExecuteJobRequest.parse(body));
const ref = (id: string) => ({ id, prompt: id });

/** Asserts an ApiError with this code, naming `field` when given. */
async function refuses(p: Promise<unknown>, code: string, field?: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.code, code);
    if (field) assert.ok((err.details?.fields as string[]).includes(field), JSON.stringify(err.details));
    return true;
  });
}

describe('api/executeRequest resolveExecute', () => {
  it("defaults protect to the preset's default_on concepts and params to each concept's default", async () => {
    const x = await resolve({ concepts: ['wall', 'floor'] });
    assert.deepEqual(x.concepts, [ref('wall'), ref('floor')]);
    assert.deepEqual(x.protect, [ref('person'), ref('window')]);
    assert.deepEqual(x.params, defaultParams(interior, ['wall', 'floor']));
    assert.equal(x.outputFormat, 'png', 'png unless asked');
  });

  it('takes inline params, protect and the output format as given', async () => {
    const x = await resolve({ concepts: ['wall'], protect: ['plant'], params: { operations: [SAGE] }, output_format: 'jpeg' });
    assert.deepEqual(x.protect, [ref('plant')]);
    assert.equal(x.outputFormat, 'jpeg');
    assert.equal(x.params.operations[0].op, 'recolor');
    assert.equal(x.params.operations[0].concept, 'wall');
  });

  it("takes concepts, protect and params from the user's saved rule; a given concept list wins", async () => {
    const x = await resolve({ rule_id: 'r1' });
    assert.deepEqual([x.concepts, x.protect, x.params], [[ref('floor')], [ref('plant')], saved.params]);
    const y = await resolve({ rule_id: 'r1', concepts: ['floor', 'wall'] });
    assert.deepEqual(y.concepts, [ref('floor'), ref('wall')]);
    assert.deepEqual(y.params, saved.params);
  });

  it('refuses a rule of another user (404), of another preset (400), and rule_id with params (400)', async () => {
    await refuses(resolveExecute(rules, { ...job, userId: 'user-2' }, ExecuteJobRequest.parse({ rule_id: 'r1' })), 'NOT_FOUND');
    await refuses(resolve({ rule_id: 'r9', concepts: ['wall'] }), 'NOT_FOUND');
    await refuses(resolve({ rule_id: 'r2' }), 'VALIDATION_ERROR', 'rule_id');
    await refuses(resolve({ rule_id: 'r1', params: { operations: [SAGE] } }), 'VALIDATION_ERROR', 'rule_id');
  });

  it('refuses what the preset does not allow: unknown concepts, no concepts, a protected concept changed', async () => {
    await refuses(resolve({ concepts: ['garden'] }), 'VALIDATION_ERROR', 'concepts.0');
    await refuses(resolve({}), 'VALIDATION_ERROR', 'concepts');
    await refuses(resolve({ concepts: ['wall'], protect: ['sofa'] }), 'VALIDATION_ERROR', 'protect.0');
    await refuses(resolve({ concepts: ['wall'], params: { operations: [{ ...SAGE, concept: 'floor' }] } }), 'VALIDATION_ERROR');
  });

  it('never protects by default a concept the user changes (seller: product is both)', async () => {
    const x = await resolveExecute(rules, { userId: 'user-1', presetId: 'seller' }, ExecuteJobRequest.parse({ concepts: ['product'] }));
    assert.ok(!x.protect.some((p) => p.id === 'product'));
    assert.ok(x.protect.some((p) => p.id === 'logo'));
  });
});
