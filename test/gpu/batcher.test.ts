/** The dynamic batcher on its own: when a batch starts, how results are routed, and how failures and cancels stay local. */
import assert from 'node:assert/strict';
import { createBatcher, type BatchStats } from '../../gpu-activities/segmenter/batcher';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('dynamic batcher', () => {
  it('starts a batch as soon as maxBatch items wait, and routes each result to its caller', async () => {
    const batches: number[][] = [];
    const b = createBatcher<number, number>({
      maxBatch: 4,
      waitMs: 10_000,
      run: async (items) => {
        batches.push(items);
        return items.map((x) => x * 10);
      },
    });
    const out = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((x) => b.submit(x)));
    assert.deepEqual(out, [10, 20, 30, 40, 50, 60, 70, 80]);
    assert.deepEqual(batches, [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
  });

  it('starts a smaller batch once the oldest item has waited waitMs, and reports its figures', async () => {
    const stats: BatchStats[] = [];
    const b = createBatcher<number, number>({ maxBatch: 8, waitMs: 30, run: async (items) => items, onBatch: (s) => stats.push(s) });
    const started = performance.now();
    const first = b.submit(1);
    await sleep(10);
    const second = b.submit(2);
    assert.deepEqual(await Promise.all([first, second]), [1, 2]);
    const took = performance.now() - started;
    assert.ok(took >= 29, `waited for batchmates (${took} ms)`);
    assert.equal(stats.length, 1);
    assert.equal(stats[0].size, 2);
    assert.ok(stats[0].queueWaitMs[0] >= 29 && stats[0].queueWaitMs[1] < stats[0].queueWaitMs[0]);
  });

  it('a throwing metrics observer neither fails the batch, nor stops the batcher, nor leaves an unhandled rejection', async () => {
    // On a worker an unhandled rejection ends the process (Node's default); mocha would swallow it, so listen here.
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    const mochaListeners = process.listeners('unhandledRejection');
    process.removeAllListeners('unhandledRejection');
    process.on('unhandledRejection', listener);
    try {
      let seen = 0;
      const b = createBatcher<number, number>({
        maxBatch: 2,
        waitMs: 0,
        run: async (items) => items.map((x) => x + 1),
        onBatch: () => {
          seen++;
          throw new Error('metrics down');
        },
      });
      assert.deepEqual(await Promise.all([b.submit(1), b.submit(2)]), [2, 3]);
      assert.deepEqual(await Promise.all([b.submit(3), b.submit(4)]), [4, 5], 'the next batch still runs');
      assert.ok(seen >= 2, `the observer was called for every batch (${seen})`);
      await sleep(10);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', listener);
      for (const l of mochaListeners) process.on('unhandledRejection', l);
    }
  });

  it('runs one batch at a time; what arrives meanwhile forms the next batch', async () => {
    let running = 0;
    let most = 0;
    const sizes: number[] = [];
    const b = createBatcher<number, number>({
      maxBatch: 16,
      waitMs: 0,
      run: async (items) => {
        most = Math.max(most, ++running);
        sizes.push(items.length);
        await sleep(20);
        running--;
        return items;
      },
    });
    const first = b.submit(0);
    await sleep(5);
    const rest = [1, 2, 3].map((x) => b.submit(x));
    await Promise.all([first, ...rest]);
    assert.equal(most, 1);
    assert.deepEqual(sizes, [1, 3]);
  });

  it('fails only the item that breaks a batch', async () => {
    const b = createBatcher<number, number>({
      maxBatch: 4,
      waitMs: 10_000,
      run: async (items) => {
        if (items.includes(13)) throw new Error('bad item 13');
        return items;
      },
    });
    const out = await Promise.allSettled([11, 12, 13, 14].map((x) => b.submit(x)));
    assert.deepEqual(
      out.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
      [11, 12, 'bad item 13', 14],
    );
  });

  it('removes a cancelled item from the queue at once and runs its batchmates without it', async () => {
    const batches: number[][] = [];
    const b = createBatcher<number, number>({
      maxBatch: 8,
      waitMs: 80,
      run: async (items) => {
        batches.push(items);
        return items;
      },
    });
    const controller = new AbortController();
    const kept = b.submit(1);
    const cancelled = b.submit(2, controller.signal);
    await sleep(10);
    controller.abort(new Error('cancelled'));
    await assert.rejects(cancelled, /cancelled/);
    assert.equal(b.waiting, 1);
    assert.equal(await kept, 1);
    assert.deepEqual(batches, [[1]]);
    await assert.rejects(b.submit(3, controller.signal), /cancelled/, 'an already aborted signal is refused');
  });
});
