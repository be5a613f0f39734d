/**
 * `npm run bench:item-cost [-- --repeats N]`: what one 12 MP photo costs in CPU, end to end through the real
 * activities. A real SeaweedFS (S3 with signatures), the contract-fixture model, the bench's 12 MP scene as a JPEG
 * (quality 92); `segment` (GPU worker) then `applyRule` (CPU worker) run in Temporal's MockActivityEnvironment, one
 * item at a time, so `process.cpuUsage()` — every thread of the process: the event loop, libvips, onnxruntime, the
 * kernel worker threads — is the item's cost. The model's own CPU (the fixture model: not SAM3's) is measured around
 * its calls and reported apart; everything else is what a GPU worker and a CPU worker pay per item.
 *
 * Charged: download from S3, decode, resize, the model's pre/post-processing, mask encodes and uploads, the rule
 * render, result + preview encodes, the checks, the uploads. Not charged: Temporal's own RPCs (the mock environment
 * has none; a real worker adds ~1 ms of CPU per activity), and the model itself (reported apart).
 *
 * Then the rule engine alone, per stage (decode, render, encode, checks: CPU sampled at each step the engine announces
 * through its step hook), for where an applyRule's CPU goes.
 *
 * "Before" is the code as it was before the cost work (commit BEFORE_REF, extracted from git into .data/bench/) run by
 * the same measuring code in the same run, both activities in one process as one GPU worker ran them; "after" is this
 * checkout, `segment` and `applyRule` each in a process of its own, as the GPU and CPU fleets run them. Each is compiled as the images are
 * (scripts/build.ts, without the type check) and runs as JavaScript with plain node in its own child process, as the
 * workers do: under ts-node a process also holds TypeScript's compiler, a heap every full collection marks (measured:
 * 0.15–0.22 CPU-s more per item, on both sides; bench/README). Drop the before column once its figures are
 * recorded in the issue. The `applyRule` process starts with the CPU worker's node flags (services/workerProcess.ts
 * CPU_WORKER_NODE_FLAGS), as its image does. Activity figures are means over the repeats (the collections and page
 * faults of every few items are charged), stage figures medians. The last line is for scripts.
 * `--png-levels 3,1` adds rows of this checkout's PNG path at zlib levels (RESULT_PNG_LEVEL 1–9; the default is fast), with
 * file sizes.
 */
import { execFileSync, execSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { PromptRef } from '../domain/jobData';
import { RuleParams } from '../domain/ruleParams';
import { inputKey, OUTPUT_FORMATS, type OutputFormat } from '../domain/storageKeys';
import { ensureModelFixture } from '../scripts/model-fixture/generate';
import { compileTree } from '../scripts/build';
import { startS3, type S3Server } from '../scripts/stack';
import type { StorageConfig } from '../services/storage';
import { CPU_WORKER_NODE_FLAGS } from '../services/workerProcess';
import { BENCH_SIZE, makeScene } from './scene';

// The AWS SDK warns in every process that its Node 20 support ends in 2027; the project targets Node 20 on purpose.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ROOT = resolve(__dirname, '..');
const WORK = join(ROOT, '.data', 'bench', 'item-cost');
/** This checkout, compiled (the children run from here). */
const AFTER_DIST = join(ROOT, '.data', 'bench', 'after-dist');
/** The last commit before the CPU-cost work (issue 10): what "before" measures. */
const BEFORE_REF = '93117ed';
const CONCEPTS: PromptRef[] = [
  { id: 'wall', prompt: 'wall' },
  { id: 'floor', prompt: 'floor' },
];
const PROTECT: PromptRef[] = [{ id: 'person', prompt: 'person' }];
const PARAMS = RuleParams.parse({
  operations: [
    { concept: 'wall', op: 'recolor', color: '#A3B18A' },
    { concept: 'floor', op: 'adjust', brightness: 1.1, saturation: 0.9 },
  ],
  feather_px: 2,
});

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/** CPU-seconds (user + system, every thread of this process) spent in `work`. */
async function cpuOf<T>(work: () => Promise<T>): Promise<{ value: T; cpu: number }> {
  const before = process.cpuUsage();
  const value = await work();
  const d = process.cpuUsage(before);
  return { value, cpu: (d.user + d.system) / 1e6 };
}

/**
 * Accumulates the CPU spent inside onnxruntime session runs — the model, whatever the layout or code version — for a
 * sequential use only (the bench runs one item at a time).
 */
function meterModel(): { take(): number } {
  let total = 0;
  // Sessions are instances of the class behind the factory type onnxruntime exports.
  const proto = (ort.InferenceSession as unknown as { prototype: Record<string, (...args: unknown[]) => Promise<unknown>> }).prototype;
  const original = proto.run;
  proto.run = async function (this: unknown, ...args: unknown[]) {
    const before = process.cpuUsage();
    try {
      return await original.apply(this, args);
    } finally {
      const d = process.cpuUsage(before);
      total += (d.user + d.system) / 1e6;
    }
  };
  return {
    take() {
      const t = total;
      total = 0;
      return t;
    },
  };
}

/**
 * Unmeasured runs before each figure, so that it is a running worker's cost per item: a kernel thread runs a kernel
 * unoptimized on its first two calls or so (V8 compiles it once it has run; measured: meanLightness 45–49 ms on the
 * first two calls, 20 ms from the third), and two threads share the calls.
 */
const WARM_RUNS = 4;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Activity figures are means: a collection or a page-fault storm every few items is part of what an item costs. */
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The rule engine's stages, as its step hook marks them. */
const STAGES = ['decode', 'render', 'encode', 'checks'] as const;
type Stage = (typeof STAGES)[number];

interface Row {
  segment: number;
  model: number;
  applyRule: Partial<Record<OutputFormat, number>>;
  /** The engine alone (no storage, no activity), CPU-seconds per stage. */
  stages: Partial<Record<OutputFormat, Record<Stage, number>>>;
  /** Bytes of the result file per format. */
  resultBytes?: Partial<Record<OutputFormat, number>>;
  /** Concept id -> mask key, from a process that ran `segment`. */
  masks?: Record<string, string>;
}

/** The stage a step label of the engine opens (labels: protect …, operation …, encode, checks). */
function stageOf(label: string): Stage {
  return label === 'encode' ? 'encode' : label === 'checks' ? 'checks' : 'render';
}

/** What the parent hands a child: where the code is, where S3 is, where the item is. */
interface ChildSpec {
  root: string;
  storage: StorageConfig;
  modelDir: string;
  item: { userId: string; jobId: string; idx: number; inputKey: string };
  formats: OutputFormat[];
  repeats: number;
  /** RESULT_PNG_LEVEL of this checkout's engine (unset: its default). */
  pngLevel?: number;
  /**
   * Which activities this process runs: both (one worker ran them, as before the fleets split), or one of them, as
   * the GPU worker and the CPU worker each run theirs in a process of their own. `applyRule` alone takes the masks
   * a `segment` process wrote.
   */
  run: 'both' | 'segment' | 'applyRule';
  masks?: Record<string, string>;
}

/** Measures one code version (the modules under `spec.root`) and prints its Row as JSON on the last line. */
async function child(spec: ChildSpec): Promise<void> {
  const load = (path: string) => require(join(spec.root, path));
  const { createCpuActivities } = load('activities/ruleActivities');
  const { createRuleEngine } = load('activities/rules/engine');
  const { KernelPool } = load('activities/rules/kernelPool');
  const { createStorage } = load('services/storage');
  const storage = createStorage(spec.storage);
  const env = () => new MockActivityEnvironment({ heartbeatTimeoutMs: 60_000 }, { logger: new DefaultLogger('ERROR') });
  const seg: number[] = [];
  const modelCpu: number[] = [];
  let masks: Record<string, string> = spec.masks ?? {};
  let closePostPool = async (): Promise<void> => undefined;
  if (spec.run !== 'applyRule') {
    const { createGpuActivities } = load('gpu-activities/activities');
    const { createSegmenter } = load('gpu-activities/segmenter/segmenter');
    const model = meterModel();
    // The GPU worker's post-processing threads where the code has them (the cloning of detections to them is charged).
    const postPool = load('gpu-activities/worker').createPostPool?.();
    closePostPool = async () => postPool?.close();
    const segmenter = createSegmenter({ modelDir: spec.modelDir, postPool, log: { info: () => undefined, warn: () => undefined } });
    await segmenter.warm();
    const gpu = createGpuActivities({ storage, segmenter });
    const input = { item: spec.item, concepts: CONCEPTS, protect: PROTECT };
    for (let i = 0; i < WARM_RUNS; i++) await env().run(() => gpu.segment(input)); // text features cached, code compiled
    model.take();
    for (let i = 0; i < spec.repeats; i++) {
      const r = await cpuOf(() => env().run(() => gpu.segment(input)) as Promise<{ masks: Record<string, string> }>);
      const m = model.take();
      seg.push(r.cpu - m);
      modelCpu.push(m);
      masks = r.value.masks;
    }
    if (spec.run === 'segment') {
      await closePostPool();
      storage.destroy();
      const row: Row = { segment: mean(seg), model: mean(modelCpu), applyRule: {}, stages: {}, masks };
      console.log(JSON.stringify(row));
      return;
    }
  }
  // Two kernel threads, as a CPU worker on two cores runs them.
  const pool = new KernelPool(2);
  await pool.warm();
  const engineOptions = { pool, ...(spec.pngLevel ? { pngCompressionLevel: spec.pngLevel } : {}) };
  const cpu = createCpuActivities({ storage, engine: createRuleEngine(engineOptions) });
  const applyRule: Row['applyRule'] = {};
  for (const format of spec.formats) {
    const run = () =>
      env().run(() =>
        cpu.applyRule({ item: spec.item, masks, concepts: ['wall', 'floor'], protect: ['person'], params: PARAMS, outputFormat: format }),
      );
    for (let i = 0; i < WARM_RUNS; i++) await run();
    const xs: number[] = [];
    for (let i = 0; i < spec.repeats; i++) xs.push((await cpuOf(run)).cpu);
    applyRule[format] = mean(xs);
  }
  // The engine alone, per stage: the same original and masks, CPU sampled at each step the engine announces.
  const engine = createRuleEngine(engineOptions);
  const image = await storage.get(spec.item.inputKey);
  const maskFiles = Object.fromEntries(
    await Promise.all(Object.entries(masks).map(async ([id, key]) => [id, await storage.get(key)] as const)),
  );
  const stages: Row['stages'] = {};
  const resultBytes: Row['resultBytes'] = {};
  for (const format of spec.formats) {
    const runs: Record<Stage, number>[] = [];
    for (let i = 0; i < WARM_RUNS + spec.repeats; i++) {
      const spent: Record<Stage, number> = { decode: 0, render: 0, encode: 0, checks: 0 };
      let stage: Stage = 'decode';
      let mark = process.cpuUsage();
      const close = (next: Stage) => {
        const d = process.cpuUsage(mark);
        spent[stage] += (d.user + d.system) / 1e6;
        mark = process.cpuUsage();
        stage = next;
      };
      const out = await engine.apply(
        { image, masks: maskFiles, concepts: ['wall', 'floor'], protect: ['person'], params: PARAMS, outputFormat: format },
        { onStep: (label: string) => close(stageOf(label)) },
      );
      close(stage);
      resultBytes[format] = (out.result ?? out.resultPng).length; // the before code named it resultPng
      if (i >= WARM_RUNS) runs.push(spent);
    }
    stages[format] = Object.fromEntries(STAGES.map((st) => [st, median(runs.map((r) => r[st]))])) as Record<Stage, number>;
  }
  await pool.close();
  await closePostPool();
  storage.destroy();
  const row: Row = { segment: mean(seg), model: mean(modelCpu), applyRule, stages, resultBytes };
  console.log(JSON.stringify(row));
}

/** Runs the measuring code of this file, compiled, in a child process on the compiled code under `spec.root`. */
function measure(spec: ChildSpec, nodeFlags: readonly string[] = []): Row {
  const out = execFileSync(process.execPath, [...nodeFlags, join(AFTER_DIST, 'bench', 'itemCost.js'), '--child', JSON.stringify(spec)], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 2 ** 20,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Row;
}

/** The tree of BEFORE_REF, extracted once, sharing this checkout's node_modules. */
function beforeTree(): string {
  const dir = join(ROOT, '.data', 'bench', `before-${BEFORE_REF}`);
  if (!existsSync(join(dir, 'package.json'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execSync(`git archive ${BEFORE_REF} | tar -x -C ${JSON.stringify(dir)}`, { cwd: ROOT, stdio: 'inherit' });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  }
  return dir;
}

async function main(): Promise<void> {
  const repeats = Number(arg('repeats', '12'));
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const modelDir = join(ROOT, '.data', 'bench', 'model-fixture');
  ensureModelFixture(modelDir);
  let s3: S3Server | undefined;
  try {
    s3 = await startS3({
      dataDir: join(WORK, 's3'),
      accessKey: 'bench-access-key',
      secretKey: 'bench-secret-key-0123456789',
      bucket: 'bench',
      stopGraceMs: 200,
    });
    const { createStorage } = await import('../services/storage');
    const storage = createStorage(s3.storageConfig);
    const { width, height } = BENCH_SIZE;
    const scene = makeScene(width, height);
    const jpeg = await sharp(scene.rgb, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 92 })
      .toBuffer();
    const item = { userId: 'bench', jobId: randomUUID(), idx: 0, inputKey: '' };
    item.inputKey = inputKey(item.userId, item.jobId, 0, 'image/jpeg');
    await storage.put(item.inputKey, jpeg, 'image/jpeg');
    storage.destroy();
    console.log(
      `scene ${width}×${height} JPEG q92 ${(jpeg.length / 2 ** 20).toFixed(1)} MiB; ${repeats} repeats per figure (activities: mean, stages: median); load ${loadAverage()}`,
    );

    const common = { storage: s3.storageConfig, modelDir, item, repeats };
    // Both trees compiled as the images are (the header says why).
    const beforeRoot = join(ROOT, '.data', 'bench', `before-${BEFORE_REF}-dist`);
    compileTree(beforeTree(), beforeRoot);
    compileTree(ROOT, AFTER_DIST);
    // Before, one GPU worker ran both activities; now each runs in the process of its own fleet.
    const before = measure({ ...common, root: beforeRoot, formats: ['png'], run: 'both' });
    const segmented = measure({ ...common, root: AFTER_DIST, formats: [], run: 'segment' });
    const onCpuWorker = (formats: OutputFormat[], pngLevel?: number): Row => ({
      // With the CPU worker's node flags, as its image starts it.
      ...measure({ ...common, root: AFTER_DIST, formats, run: 'applyRule', masks: segmented.masks, pngLevel }, CPU_WORKER_NODE_FLAGS),
      segment: segmented.segment,
      model: segmented.model,
    });
    const after = onCpuWorker([...OUTPUT_FORMATS]);
    const levels = arg('png-levels', '').split(',').filter(Boolean).map(Number);
    for (const level of levels)
      if (!Number.isInteger(level) || level < 1 || level > 9) throw new Error(`--png-levels: ${level} is not 1–9`);
    const atLevel = levels.map((pngLevel) => [`after, RESULT_PNG_LEVEL=${pngLevel}`, onCpuWorker(['png'], pngLevel)] as const);
    const rows = [[`before (${BEFORE_REF})`, before], ['after', after], ...atLevel] as const;
    const f = (x: number | undefined) => (x === undefined ? '    —' : x.toFixed(3).padStart(6));
    const perItem = (r: Row, fmt: OutputFormat) => r.segment + (r.applyRule[fmt] ?? NaN);
    console.log('');
    console.log('CPU-seconds per 12 MP item (process + worker threads), the model apart');
    console.log('| code | segment (outside the model) | applyRule png | applyRule jpeg | applyRule webp | item, png | model (fixture) |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [label, r] of rows) {
      console.log(
        `| ${label} | ${f(r.segment)} | ${f(r.applyRule.png)} | ${f(r.applyRule.jpeg)} | ${f(r.applyRule.webp)} | ${f(perItem(r, 'png'))} | ${f(r.model)} |`,
      );
    }
    console.log('');
    console.log('applyRule by stage: the rule engine alone (no storage, no activity), CPU-seconds per 12 MP item');
    console.log(`| code | format | ${STAGES.join(' | ')} | engine total | result MiB |`);
    console.log(`|---|---|${STAGES.map(() => '---|').join('')}---|---|`);
    for (const [label, r] of rows) {
      for (const [fmt, st] of Object.entries(r.stages)) {
        const total = STAGES.reduce((sum, k) => sum + st[k], 0);
        const bytes = r.resultBytes?.[fmt as OutputFormat];
        const mib = bytes === undefined ? '—' : (bytes / 2 ** 20).toFixed(1);
        console.log(`| ${label} | ${fmt} | ${STAGES.map((k) => f(st[k])).join(' | ')} | ${f(total)} | ${mib} |`);
      }
    }
    // What one GPU needs beside it: the stand-in H200 of bench:pipeline serves 3 concepts at ~11.8 items/s unbatched
    // and ~33.7 batched (issue 13's curve).
    const cores = (r: Row, fmt: OutputFormat, itemsPerS: number) => (perItem(r, fmt) * itemsPerS).toFixed(1);
    console.log('');
    for (const [name, rate] of [
      ['unbatched, 11.8 items/s', 11.8],
      ['batched, 33.7 items/s', 33.7],
    ] as const) {
      console.log(
        `CPU cores needed per GPU (stand-in H200 ${name}, 3 concepts): png ${cores(after, 'png', rate)}, jpeg ${cores(after, 'jpeg', rate)}, ` +
          `webp ${cores(after, 'webp', rate)} (before: png ${cores(before, 'png', rate)})`,
      );
    }
    console.log(
      `item-cost: png ${perItem(after, 'png').toFixed(3)} jpeg ${perItem(after, 'jpeg').toFixed(3)} webp ${perItem(after, 'webp').toFixed(3)} ` +
        `CPU-s per 12 MP item (before: png ${perItem(before, 'png').toFixed(3)})`,
    );
  } finally {
    await s3?.stop();
    rmSync(WORK, { recursive: true, force: true });
  }
}

function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
}

if (process.argv[2] === '--child') {
  child(JSON.parse(process.argv[3]) as ChildSpec).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
