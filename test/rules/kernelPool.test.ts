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
  it('zeroes exactly [start, end) of shared and plain views at every alignment', () => {
    let cases = 0;
    for (const shared of [true, false]) {
      for (let offset = 0; offset < 4; offset++) {
        for (const [start, end] of [
          [0, 0],
          [0, 1],
          [1, 3],
          [0, 37],
          [3, 29],
          [5, 6],
          [2, 40],
          [8, 16],
        ]) {
          const buffer = shared ? new SharedArrayBuffer(48) : new ArrayBuffer(48);
          const bytes = new Uint8Array(buffer, offset, 40).fill(9);
          zeroFill(bytes, start, end);
          bytes.forEach((v, i) => assert.equal(v, i >= start && i < end ? 0 : 9, `offset ${offset}, [${start}, ${end}), byte ${i}`));
          assert.ok(
            new Uint8Array(buffer).subarray(offset + 40).every((v) => v === 0),
            'nothing past the view is written',
          );
          cases++;
        }
      }
    }
    assert.equal(cases, 64);
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
