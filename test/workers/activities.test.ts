/**
 * The item activities — segment (GPU worker) and applyRule (CPU worker) — in Temporal's MockActivityEnvironment (real
 * heartbeats and cancellation), against the real S3 server of the global setup, the contract-fixture model and the
 * rule engine: files land under the storage layout,
 * bad images fail the item for good, storage and model problems stay retryable, a cancel stops the work.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import sharp from 'sharp';
import { parseConfig } from '../../domain/config';
import { createStorage, type Storage } from '../../services/storage';
import { RuleParams } from '../../domain/ruleParams';
import { inputKey, maskKey, previewKey, resultKey } from '../../domain/storageKeys';
import { createGpuActivities } from '../../gpu-activities/activities';
import type { GpuActivities, SegmentInput } from '../../gpu-activities/contract';
import type { CpuActivities } from '../../activities/contract';
import { createCpuActivities } from '../../activities/ruleActivities';
import type { ItemRef } from '../../domain/jobData';
import { ItemFailure } from '../../domain/jobData';
import { deltaE2000 } from '../../activities/rules/ciede2000';
import { parseHex, rgbToLab } from '../../activities/rules/color';
import { createRuleEngine } from '../../activities/rules/engine';
import { KernelPool } from '../../activities/rules/kernelPool';
import { createSegmenter } from '../../gpu-activities/segmenter/segmenter';
import { countDiffering, decode, paint, pixelAt, png, pngClaimingSize } from '../fixtures/gpu/images';
import { testModelDir } from '../fixtures/gpu/model';

const quiet = { info: () => undefined, warn: () => undefined };
const W = 96;
const H = 72;
const isWall = (x: number, y: number): boolean => y < 40;
const isPerson = (x: number, y: number): boolean => x >= 40 && x < 56 && y >= 20;
const scene = paint(W, H, (x, y) => (isPerson(x, y) ? 'person' : isWall(x, y) ? 'wall' : 'floor'));
const prompts: Pick<SegmentInput, 'concepts' | 'protect'> = {
  concepts: [
    { id: 'wall', prompt: 'wall' },
    { id: 'floor', prompt: 'floor' },
  ],
  protect: [{ id: 'person', prompt: 'person' }],
};

/** Runs an activity in a fresh mock environment, recording heartbeat steps; `onStep` may cancel it. */
async function inEnv<T>(
  fn: () => Promise<T>,
  onStep?: (step: string, env: MockActivityEnvironment) => void,
): Promise<{ result: T; steps: string[] }> {
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 10_000 }, { logger: new DefaultLogger('ERROR') });
  const steps: string[] = [];
  env.on('heartbeat', (d: { step: string }) => {
    steps.push(d.step);
    onStep?.(d.step, env);
  });
  return { result: await env.run(fn), steps };
}

async function failureOf(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (err) {
    return err;
  }
  assert.fail('expected the activity to fail');
}

describe('Item activities: segment and applyRule (MockActivityEnvironment + S3)', function () {
  this.timeout(60_000);
  let storage: Storage;
  let pool: KernelPool;
  let activities: GpuActivities & CpuActivities;

  before(async function () {
    storage = createStorage(parseConfig(process.env));
    await storage.ensureBucket();
    pool = new KernelPool(2);
    const segmenter = createSegmenter({ modelDir: testModelDir(), log: quiet });
    activities = {
      ...createGpuActivities({ storage, segmenter, heartbeatMs: 50 }),
      ...createCpuActivities({ storage, engine: createRuleEngine({ pool }), heartbeatMs: 50 }),
    };
  });
  after(async () => {
    await pool?.close();
    storage?.destroy();
  });

  async function upload(bytes: Uint8Array, contentType: 'image/png' | 'image/jpeg' = 'image/png'): Promise<ItemRef> {
    const item = { userId: `u-${randomUUID()}`, jobId: randomUUID(), idx: 3 };
    const key = inputKey(item.userId, item.jobId, item.idx, contentType);
    await storage.put(key, Buffer.from(bytes), contentType);
    return { ...item, inputKey: key };
  }

  it('segment writes one mask PNG per concept and protect concept under masks/, with coverage', async () => {
    const item = await upload(await png(scene));
    const { result, steps } = await inEnv(() => activities.segment({ item, ...prompts }));
    assert.deepEqual(result.masks, {
      wall: maskKey(item.userId, item.jobId, 3, 'wall'),
      floor: maskKey(item.userId, item.jobId, 3, 'floor'),
      person: maskKey(item.userId, item.jobId, 3, 'person'),
    });
    assert.deepEqual([result.width, result.height], [W, H]);
    const wall = await decode(await storage.get(result.masks.wall));
    assert.deepEqual([wall.width, wall.height, wall.channels], [W, H, 1]);
    assert.equal(wall.data[10 * W + 10], 255);
    assert.equal(wall.data[60 * W + 10], 0);
    assert.ok(Math.abs(result.coverage.person - (16 * 52) / (W * H)) < 0.03);
    // Periodic heartbeats repeat the current step in between.
    assert.deepEqual(
      steps.filter((s, i) => s !== steps[i - 1]),
      ['start', 'download', 'segment', 'upload masks'],
    );
  });

  it('applyRule writes the result PNG and a JPEG preview and returns checks measured on them', async () => {
    const item = await upload(await png(scene));
    const seg = (await inEnv(() => activities.segment({ item, ...prompts }))).result;
    const params = RuleParams.parse({ operations: [{ concept: 'wall', op: 'recolor', color: '#A3B18A' }], feather_px: 1 });
    const { result, steps } = await inEnv(() =>
      activities.applyRule({ item, masks: seg.masks, concepts: ['wall', 'floor'], protect: ['person'], params }),
    );
    assert.equal(result.resultKey, resultKey(item.userId, item.jobId, 3));
    assert.equal(result.previewKey, previewKey(item.userId, item.jobId, 3));
    const out = await decode(await storage.get(result.resultKey));
    assert.ok(deltaE2000(rgbToLab(pixelAt(out, 10, 10) as [number, number, number]), rgbToLab(parseHex('#A3B18A'))) <= 3);
    assert.equal(
      countDiffering(scene, out, (x, y) => !isWall(x, y) || isPerson(x, y)),
      0,
    );
    assert.equal((await sharp(await storage.get(result.previewKey)).metadata()).format, 'jpeg');
    assert.equal(result.checks.protected_changed_px, 0);
    assert.ok(result.checks.delta_e_to_target.wall <= 3);
    assert.deepEqual(Object.keys(result.checks.coverage).sort(), ['floor', 'person', 'wall']);
    assert.ok(steps.includes('checks') && steps.at(-1) === 'upload');
  });

  const bad: [string, () => Promise<Uint8Array>, ItemFailure][] = [
    ['a zero-byte file', async () => new Uint8Array(0), ItemFailure.INVALID_IMAGE],
    ['a non-image', async () => Buffer.from('%PDF-1.4 not an image'), ItemFailure.INVALID_IMAGE],
    [
      'a truncated JPEG',
      async () =>
        (
          await sharp(scene.data, { raw: { width: W, height: H, channels: 3 } })
            .jpeg()
            .toBuffer()
        ).subarray(0, 300),
      ItemFailure.INVALID_IMAGE,
    ],
    ['a 400 MP decompression bomb', () => pngClaimingSize(20_000, 20_000), ItemFailure.IMAGE_TOO_LARGE],
    // Over the 25 MiB upload limit (replaced after confirm-upload checked it): refused before it is downloaded.
    ['a 26 MiB file', async () => Buffer.alloc(26 * 1024 * 1024, 0x42), ItemFailure.IMAGE_TOO_LARGE],
  ];
  for (const [what, make, type] of bad) {
    it(`${what} fails segment and applyRule with non-retryable ${type}`, async () => {
      const item = await upload(await make());
      const params = RuleParams.parse({ operations: [{ concept: 'wall', op: 'replace', color: '#FFFFFF' }] });
      for (const run of [
        (): Promise<unknown> => activities.segment({ item, ...prompts }),
        () => activities.applyRule({ item, masks: {}, concepts: ['wall'], protect: [], params }),
      ]) {
        const err = await failureOf(inEnv(run));
        assert.ok(err instanceof ApplicationFailure, `${err}`);
        assert.equal(err.type, type);
        assert.equal(err.nonRetryable, true);
      }
    });
  }

  it('a missing original or mask fails the item for good as INPUT_MISSING, on both activities', async () => {
    const missing: ItemRef = { userId: 'u', jobId: randomUUID(), idx: 0, inputKey: `inputs/u/${randomUUID()}/0.png` };
    const notFound = await failureOf(inEnv(() => activities.segment({ item: missing, ...prompts })));
    assert.ok(notFound instanceof ApplicationFailure, `${notFound}`);
    assert.equal(notFound.type, ItemFailure.INPUT_MISSING);
    assert.equal(notFound.nonRetryable, true);

    const item = await upload(await png(scene));
    const params = RuleParams.parse({ operations: [{ concept: 'wall', op: 'replace', color: '#FFFFFF' }] });
    const gone = { wall: maskKey(item.userId, item.jobId, 3, `gone-${randomUUID()}`) };
    const maskErr = await failureOf(inEnv(() => activities.applyRule({ item, masks: gone, concepts: ['wall'], protect: [], params })));
    assert.ok(maskErr instanceof ApplicationFailure, `${maskErr}`);
    assert.equal(maskErr.type, ItemFailure.INPUT_MISSING);
    assert.equal(maskErr.nonRetryable, true);
  });

  it("a blur of any sigma API.md allows renders (below libvips' 0.3 too); params the engine refuses are non-retryable", async () => {
    const item = await upload(await png(scene));
    const seg = (await inEnv(() => activities.segment({ item, ...prompts }))).result;
    for (const sigma of [0.01, 0.29, 0.3, 2]) {
      const params = RuleParams.parse({ operations: [{ concept: 'floor', op: 'blur', sigma }] });
      const { result } = await inEnv(() =>
        activities.applyRule({ item, masks: seg.masks, concepts: ['floor'], protect: ['person'], params }),
      );
      assert.equal(result.checks.protected_changed_px, 0, `sigma ${sigma}`);
    }
    // A rule that slipped past the API's schema (an old row, a bug): sharp refuses it before any work.
    const bad = { operations: [{ concept: 'floor', op: 'blur', sigma: 5000 }], feather_px: 0 } as unknown as RuleParams;
    const err = await failureOf(
      inEnv(() => activities.applyRule({ item, masks: seg.masks, concepts: ['floor'], protect: [], params: bad })),
    );
    assert.ok(err instanceof ApplicationFailure, `${err}`);
    assert.equal(err.type, ItemFailure.INVALID_PARAMS);
    assert.equal(err.nonRetryable, true);
  });

  it('storage and model-load errors stay retryable', async () => {
    const item = await upload(await png(scene));
    const broken = createGpuActivities({
      storage: { get: (k) => storage.get(k), put: async () => Promise.reject(new Error('S3 is down')), delete: (k) => storage.delete(k) },
      segmenter: createSegmenter({ modelDir: '/nonexistent/model', log: quiet }),
    });
    const modelErr = await failureOf(inEnv(() => broken.segment({ item, ...prompts })));
    assert.match(String(modelErr), /model file not found/);
    assert.ok(!(modelErr instanceof ApplicationFailure && modelErr.nonRetryable));

    const withModel = createGpuActivities({
      storage: { get: (k) => storage.get(k), put: async () => Promise.reject(new Error('S3 is down')), delete: (k) => storage.delete(k) },
      segmenter: createSegmenter({ modelDir: testModelDir(), log: quiet }),
    });
    const putErr = await failureOf(inEnv(() => withModel.segment({ item, ...prompts })));
    assert.match(String(putErr), /S3 is down/);
    assert.ok(!(putErr instanceof ApplicationFailure && putErr.nonRetryable));
  });

  it('a cancelled segment stops before writing any mask', async () => {
    const item = await upload(await png(scene));
    const err = await failureOf(
      inEnv(
        () => activities.segment({ item, ...prompts }),
        (step, env) => step === 'segment' && env.cancel(),
      ),
    );
    assert.ok(err instanceof CancelledFailure, `${err}`);
    await new Promise((r) => setTimeout(r, 300));
    for (const id of ['wall', 'floor', 'person']) assert.equal(await storage.head(maskKey(item.userId, item.jobId, 3, id)), null);
  });

  it('a cancelled applyRule stops mid-rule without writing a result', async () => {
    const item = await upload(await png(scene));
    const seg = (await inEnv(() => activities.segment({ item, ...prompts }))).result;
    const params = RuleParams.parse({
      operations: [
        { concept: 'wall', op: 'recolor', color: '#A3B18A' },
        { concept: 'floor', op: 'adjust', brightness: 1.2 },
      ],
    });
    const steps: string[] = [];
    const err = await failureOf(
      inEnv(
        () => activities.applyRule({ item, masks: seg.masks, concepts: ['wall', 'floor'], protect: ['person'], params }),
        (step, env) => {
          steps.push(step);
          if (step.startsWith('operation 0')) env.cancel();
        },
      ),
    );
    assert.ok(err instanceof CancelledFailure, `${err}`);
    assert.ok(!steps.some((s) => s.startsWith('operation 1')), `stopped after the first operation: ${steps}`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await storage.head(resultKey(item.userId, item.jobId, 3)), null);
    assert.equal(await storage.head(previewKey(item.userId, item.jobId, 3)), null);
  });
});
