import assert from 'node:assert/strict';
import { CPU_WORKER_NODE_FLAGS, missingNodeFlags } from '../../services/workerProcess';

describe('missingNodeFlags', () => {
  it('names the wanted flags a process was started without', () => {
    assert.deepEqual(missingNodeFlags(CPU_WORKER_NODE_FLAGS, []), [...CPU_WORKER_NODE_FLAGS]);
    assert.deepEqual(missingNodeFlags(CPU_WORKER_NODE_FLAGS, ['--max-old-space-size=4096', '-r', 'ts-node/register']), [
      ...CPU_WORKER_NODE_FLAGS,
    ]);
    assert.deepEqual(missingNodeFlags(['--a=1', '--b'], ['--b']), ['--a=1']);
  });

  it('takes the option with any value, spelled with - or _', () => {
    assert.deepEqual(missingNodeFlags(CPU_WORKER_NODE_FLAGS, [...CPU_WORKER_NODE_FLAGS]), []);
    assert.deepEqual(missingNodeFlags(['--initial-old-space-size=128'], ['--initial_old_space_size=256']), []);
  });
});
