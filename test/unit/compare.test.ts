import assert from 'node:assert/strict';
import { PLANS, variantCost } from '../../domain/plans';
import { coloredConcepts, setChecksOf } from '../../domain/setChecks';
import { VariantMachine, variantRef } from '../../domain/variantMachine';

const checks = (lab: [number, number, number]) => ({
  protected_changed_px: 0,
  delta_e_to_target: {},
  coverage: {},
  mean_lab: { wall: lab },
});
const recolor = { operations: [{ concept: 'wall', op: 'recolor' as const, color: '#A3B18A', strength: 1 }], feather_px: 2 };

describe('set checks', () => {
  it('takes recolored and replaced concepts only', () => {
    const params = {
      operations: [
        { concept: 'wall', op: 'recolor' as const, color: '#A3B18A', strength: 1 },
        { concept: 'floor', op: 'adjust' as const, brightness: 1.1, contrast: 1, saturation: 1, hue: 0 },
        { concept: 'background', op: 'replace' as const, color: '#FFFFFF' },
      ],
      feather_px: 0,
    };
    assert.deepEqual(coloredConcepts(params), ['wall', 'background']);
  });

  it('reports the largest pairwise ΔE00 over done items and their mean Lab', () => {
    const out = setChecksOf(recolor, [
      { status: 'done', checks: checks([60, -8, 12]) },
      { status: 'done', checks: checks([62, -8, 12]) },
      { status: 'done', checks: checks([61, -8, 12]) },
      { status: 'failed', checks: checks([20, 40, 40]) },
    ]);
    assert.equal(out.wall.items, 3);
    assert.deepEqual(out.wall.mean_lab, [61, -8, 12]);
    // Only L* differs by 2 between the extremes: ΔE00 is below 2 (lightness is weighted down at mid L*).
    assert.ok(out.wall.max_delta_e > 1 && out.wall.max_delta_e < 2, String(out.wall.max_delta_e));
    assert.deepEqual(setChecksOf(recolor, []), {});
  });
});

describe('variant machine', () => {
  const make = (idxs = [0, 1, 2, 3, 4]) =>
    new VariantMachine(
      {
        jobId: 'j',
        userId: 'u',
        n: 2,
        idxs,
        rule: { params: recolor },
        outputFormat: 'png',
        amount: variantCost(PLANS.free, idxs.length),
        itemsPerCredit: 4,
      },
      () => new Date('2026-01-01T00:00:00Z'),
    );
  const keys = { resultKey: 'r', previewKey: 'p', checks: checks([60, 0, 0]) };

  it('costs ceil(done / 4), charges what rendered and refunds the rest on cancel', () => {
    assert.equal(variantCost(PLANS.free, 5), 2);
    assert.equal(variantRef('j', 2), 'j:v2');
    const m = make();
    m.reserved({ ok: true, amount: 2 });
    m.itemStarted(0);
    assert.equal(m.status, 'running');
    m.itemDone(0, keys);
    assert.equal(m.requestCancel(), true);
    assert.equal(m.requestCancel(), false);
    m.itemCanceled(1);
    assert.equal(m.charge(), 1);
    m.settle({ charged: 1, released: 1 });
    const s = m.state();
    assert.equal(s.status, 'canceled');
    assert.deepEqual(s.credits, { reserved: 2, charged: 1, refunded: 1 });
    assert.deepEqual(s.progress, { total: 5, done: 1, failed: 0, running: 0, pending: 0, canceled: 4, percent: 20 });
    assert.equal(m.canCancel(), false);
  });

  it('is failed when no item rendered, and ends at once when refused', () => {
    const m = make([0]);
    m.reserved({ ok: true, amount: 1 });
    m.itemFailed(0, { code: 'INVALID_IMAGE', message: 'x' });
    m.settle({ charged: 0, released: 1 });
    assert.equal(m.state().status, 'failed');
    const refused = make();
    refused.reserved({ ok: false, code: 'INSUFFICIENT_CREDITS', needed: 2, available: 0 });
    assert.equal(refused.finished, true);
    assert.equal(refused.state().error?.code, 'INSUFFICIENT_CREDITS');
  });

  it('hands the mirror each item change once: the row plus the items started or finished since the last record', () => {
    const m = make([0, 1, 2, 3]);
    m.reserved({ ok: true, amount: 1 });
    assert.equal(m.hasChanges(), false);
    assert.deepEqual(m.takeRecord().items, []);
    m.itemStarted(0);
    m.itemStarted(1);
    m.itemStarted(2);
    assert.deepEqual(
      m.takeRecord().items.map((i) => [i.idx, i.status]),
      [
        [0, 'running'],
        [1, 'running'],
        [2, 'running'],
      ],
    );
    m.itemDone(1, keys);
    m.itemFailed(0, { code: 'INVALID_IMAGE', message: 'x' });
    assert.equal(m.hasChanges(), true);
    const first = m.takeRecord();
    assert.deepEqual(
      first.items.map((i) => [i.idx, i.status]),
      [
        [0, 'failed'],
        [1, 'done'],
      ],
    );
    assert.deepEqual(first.items[1], { idx: 1, status: 'done', ...keys });
    assert.equal(first.variant.status, 'running');
    assert.deepEqual(first.variant.credits, { reserved: 1, charged: 1, refunded: 0 });
    assert.equal(m.hasChanges(), false);
    m.settle({ charged: 1, released: 0 });
    const last = m.takeRecord();
    assert.deepEqual(
      last.items.map((i) => [i.idx, i.status]),
      [
        [2, 'canceled'],
        [3, 'canceled'],
      ],
      'settle cancels the rest (running or pending), and they go to the mirror too',
    );
    assert.equal(last.variant.status, 'done');
    assert.ok(last.variant.finishedAt);
  });
});
