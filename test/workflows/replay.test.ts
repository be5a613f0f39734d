import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { fromHistoryJson } from './historyJson';

// Recorded by scripts/record-histories.ts. Replaying them against today's workflow code fails on any change that is
// not guarded by patched(): exactly the change that would break jobs already running in production.
// The `-v1` files were recorded before the patches 'throttled-flush' and 'bounded-cancel-wait', the `-v2` files with
// them but before 'cpu-fleet' (applyRule on the GPU queue), the `-v3` files with those but before 'reserve-mirrored'
// (the reserve update answers without waiting for the mirror), the `-v4` files with those but before 'seal-uploads'
// (a job ending before its uploads were confirmed did not seal its input keys), the `-v5` files with those but before
// 'flush-spacing' (a mirror flush waited out the second only when completions piled up during the previous one); each
// replays down the old branches. The others were recorded with every patch. The `variant-*-v1` files were recorded
// before 'variant-delta-flush' (the variant mirror got the whole state on every change) and replay down recordVariant,
// the `variant-*-v2` files with it but before 'flush-spacing'. Keep old recordings until no job or variant of that code
// can still be running.
const DIR = path.join(__dirname, 'histories');
const files = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('job and variant workflow replay', function () {
  let workflowBundle: WorkflowBundleWithSourceMap;

  before(async function () {
    this.timeout(120_000);
    workflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    });
  });

  it('has the representative histories', () => {
    const names = ['happy', 'item-failure', 'cancel', 'cancel-before-upload', 'upload-timeout', 'refused'];
    for (const name of ['happy', 'item-failure', 'cancel', 'upload-timeout'])
      assert.ok(files.includes(`${name}-v4.json`), `${name}-v4.json missing`);
    const variants = ['variant-happy', 'variant-cancel', 'variant-refused'];
    const before = [...names.map((n) => `${n}-v5`), ...variants.flatMap((v) => [`${v}-v1`, `${v}-v2`])];
    for (const name of [...names, ...variants, ...before]) assert.ok(files.includes(`${name}.json`), `${name}.json missing`);
  });

  for (const file of files) {
    it(`replays ${file} deterministically`, async function () {
      this.timeout(60_000);
      const history = fromHistoryJson(JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')));
      // Throws DeterminismViolationError (or the workflow's own failure) when the code no longer matches the history.
      await Worker.runReplayHistory({ workflowBundle }, history, path.basename(file, '.json'));
    });
  }
});
