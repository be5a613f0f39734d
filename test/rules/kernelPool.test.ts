/** The kernel worker pool and the shared-buffer arena. */
import assert from 'node:assert/strict';
import { KernelPool, sharedBytes, zeroFill } from '../../activities/rules/kernelPool';
import { SharedArena } from '../../activities/rules/sharedArena';

describe('kernel pool', function () {
  let pool: KernelPool;
  before(() => (pool = new KernelPool(1)));
  after(() => pool.close());

  it('runs kernels in a worker thread on shared memory', async () => {
    const mask = sharedBytes(6);
    mask.set([0, 200, 255, 0, 130, 0]);
    const stats = await pool.run('regionOf', [mask, null, 3]);
    assert.deepEqual(stats, { count: 3, maskCount: 3, rect: { x0: 1, y0: 0, x1: 3, y1: 2 } });
    assert.deepEqual(Array.from(mask), [0, 255, 255, 0, 255, 0], 'the worker wrote into the shared buffer');
  });

  it('rejects queued work whose signal was aborted, and surfaces kernel errors', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await assert.rejects(pool.run('coverage', [new Uint8Array(4)], controller.signal), /cancelled/);
    await assert.rejects(pool.run('regionOf', [null as unknown as Uint8Array, null, 3]), /kernel regionOf failed/);
    assert.equal(await pool.run('coverage', [Uint8Array.from([255, 0])]), 0.5, 'the pool still works');
  });
});

describe('zeroFill', () => {
  it('zeroes exactly [start, end) clamped to the view, of shared and plain views at every alignment, and nothing else', () => {
    const ranges = [
      [0, 0],
      [0, 1],
      [5, 6],
      [3, 29],
      [0, 63],
      [0, 64],
      [1, 129],
      [3, 200],
      [0, 256],
      [70, 250],
      [10, 5],
      [30, 1000],
      [-5, 100],
    ];
    for (const shared of [true, false]) {
      for (let offset = 0; offset < 4; offset++) {
        for (const [start, end] of ranges) {
          const whole = new Uint8Array(shared ? new SharedArrayBuffer(264) : new ArrayBuffer(264)).fill(9);
          const bytes = whole.subarray(offset, offset + 256);
          zeroFill(bytes, start, end);
          const [from, to] = [Math.max(0, start), Math.min(end, 256)];
          whole.forEach((v, i) => {
            const zeroed = i >= offset + from && i < offset + to;
            assert.equal(v, zeroed ? 0 : 9, `${shared ? 'shared' : 'plain'}, offset ${offset}, [${start}, ${end}), byte ${i}`);
          });
        }
      }
    }
  });
});

describe('shared arena', () => {
  it('hands a returned buffer out again, zeroed on request, within its byte cap', () => {
    const arena = new SharedArena(100);
    const a = arena.take(64);
    a.fill(7);
    arena.give(a);
    const b = arena.take(64, true);
    assert.equal(b, a);
    assert.ok(b.every((v) => v === 0));
    arena.give(b, arena.take(64));
    assert.notEqual(arena.take(64), undefined);
    arena.give(new Uint8Array(64));
    assert.ok(arena.take(64).buffer instanceof SharedArrayBuffer, 'non-shared buffers are not recycled');
  });
});
