import assert from 'node:assert/strict';
import { findPreset, PRESETS, promptFor } from '../../domain/presets';
import { checkRuleAgainstPreset, defaultParams, RuleParams } from '../../domain/ruleParams';
import { canTransition, isTerminal } from '../../domain/jobStates';
import { inputKey, maskKey, previewKey, resultKey } from '../../domain/storageKeys';

describe('domain', () => {
  const interior = findPreset('interior')!;

  it('parses RuleParams with defaults and rejects out-of-range values', () => {
    const p = RuleParams.parse({ operations: [{ concept: 'wall', op: 'recolor', color: '#a3b18a' }] });
    assert.deepEqual(p, { operations: [{ concept: 'wall', op: 'recolor', color: '#a3b18a', strength: 1 }], feather_px: 0 });
    assert.equal(RuleParams.safeParse({ operations: [{ concept: 'wall', op: 'adjust', brightness: 3.1 }] }).success, false);
    assert.equal(RuleParams.safeParse({ operations: [] }).success, false);
  });

  it('checks a rule against its preset', () => {
    const params = RuleParams.parse({ operations: [{ concept: 'sofa', op: 'replace', color: '#FFFFFF' }] });
    const issues = checkRuleAgainstPreset(interior, ['wall', 'wall', 'tree'], ['person', 'product'], params);
    assert.deepEqual(
      issues.map((i) => i.path.join('.')),
      ['concepts.2', 'protect.1', 'concepts', 'params.operations.0.concept'],
    );
    assert.deepEqual(checkRuleAgainstPreset(interior, ['sofa'], ['person'], params), []);
    const seller = findPreset('seller')!;
    const both = checkRuleAgainstPreset(seller, ['product'], ['product', 'logo']);
    assert.deepEqual(both, [{ path: ['protect'], message: 'product cannot be both changed and protected' }]);
  });

  it('builds default params from the preset defaults', () => {
    const p = defaultParams(findPreset('seller')!, ['background']);
    assert.deepEqual(p.operations, [{ concept: 'background', op: 'replace', color: '#FFFFFF' }]);
  });

  it('gives every concept and protect concept a single-word prompt', () => {
    for (const preset of PRESETS) {
      for (const c of [...preset.concepts, ...preset.protect]) assert.equal(promptFor(preset, c.id), c.prompt);
    }
    assert.equal(promptFor(interior, 'nope'), undefined);
  });

  it('knows the job state machine', () => {
    assert.ok(canTransition('created', 'uploaded'));
    assert.ok(canTransition('running', 'canceled'));
    assert.ok(!canTransition('done', 'canceled'));
    assert.ok(!canTransition('created', 'running'));
    assert.ok(isTerminal('failed') && !isTerminal('queued'));
  });

  it('lays out storage keys as API.md says', () => {
    assert.equal(inputKey('u', 'j', 3, 'image/webp'), 'inputs/u/j/3.webp');
    assert.equal(resultKey('u', 'j', 3), 'outputs/u/j/3_result.png');
    assert.equal(maskKey('u', 'j', 3, 'wall'), 'masks/u/j/3_wall.png');
    assert.equal(previewKey('u', 'j', 3), 'previews/u/j/3_thumb.jpg');
    assert.equal(resultKey('u', 'j', 3, 'jpeg'), 'outputs/u/j/3_result.jpg');
    assert.equal(resultKey('u', 'j', 3, 'webp', 2), 'outputs/u/j/v2/3_result.webp');
    assert.equal(previewKey('u', 'j', 3, 2), 'previews/u/j/v2/3_thumb.jpg');
  });
});
