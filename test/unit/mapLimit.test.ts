import assert from 'node:assert/strict';
import { mapLimit } from '../../services/mapLimit';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('services/mapLimit', () => {
  it('returns the results in index order with at most `limit` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit(20, 3, async (i) => {
      most = Math.max(most, ++inFlight);
      await tick();
      inFlight--;
      return i * i;
    });
    assert.deepEqual(
      out,
      Array.from({ length: 20 }, (_, i) => i * i),
    );
    assert.equal(most, 3);
  });

  it('stops starting calls at the first failure, aborts the ones in flight, and throws it', async () => {
    const started: number[] = [];
    const aborted: number[] = [];
    const boom = new Error('boom');
    await assert.rejects(
      mapLimit(50, 4, async (i, signal) => {
        started.push(i);
        signal.addEventListener('abort', () => aborted.push(i));
        await tick();
        if (i === 5) throw boom;
        await tick();
      }),
      (e) => e === boom,
    );
    await tick();
    assert.ok(started.length < 12, `started ${started.length} of 50`);
    assert.ok(aborted.length > 0, 'calls in flight saw the abort');
  });
});
