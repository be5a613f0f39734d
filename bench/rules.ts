/**
 * `npm run bench:rules [-- --repeats N --size WxH]`: the rule engine on a 12 MP photo-like scene — recolor (wall) +
 * adjust (floor), person protected, feather 2 px — against a Python reference of the same operation written with
 * OpenCV + NumPy (bench/rules_reference.py), both on one thread, each in its own process, in the same run. Prints
 * megapixels/s, the speed ratio, peak RSS over each process's baseline (inputs loaded, runtime warm) as a multiple of
 * the decoded image, and how far the two results differ. Then one full applyRule (decode, render, PNG + preview,
 * checks) for where the rest of an item's time goes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { RuleParams } from '../domain/ruleParams';
import { KernelPool } from '../activities/rules/kernelPool';
import { renderRule } from '../activities/rules/render';
import { SharedArena } from '../activities/rules/sharedArena';
import { createRuleEngine } from '../activities/rules/engine';
import { BENCH_SIZE, makeScene } from './scene';

const ROOT = resolve(__dirname, '..');
const VENV = join(ROOT, '.tools', 'bench-venv');
const PYTHON = join(VENV, 'bin', 'python');
const OPENCV = 'opencv-python-headless==4.12.0.88';
const WORK = join(ROOT, '.data', 'bench', 'rules');

interface Spec {
  width: number;
  height: number;
  image: string;
  masks: Record<string, string>;
  protect: string[];
  operations: RuleParams['operations'];
  feather_px: number;
  output: string;
  repeats: number;
}

/** What each implementation's process reports. */
interface Measured {
  seconds: number[];
  peak_rss_bytes: number;
  baseline_rss_bytes: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

/** Installs the reference's Python dependencies into .tools/bench-venv once. */
function ensurePython(): void {
  const ok = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import cv2, numpy'], { stdio: 'ignore' }).status === 0;
  if (ok) return;
  console.log(`installing ${OPENCV} into ${VENV} ...`);
  if (!existsSync(PYTHON)) execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  execFileSync(PYTHON, ['-m', 'pip', 'install', '--quiet', OPENCV], { stdio: 'inherit' });
}

/** The TypeScript side, run in a child process so its RSS is its own. */
async function child(specPath: string): Promise<void> {
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as Spec;
  sharp.concurrency(1);
  const image = { data: readFileSync(spec.image), width: spec.width, height: spec.height, channels: 3 as const };
  const masks = Object.fromEntries(Object.entries(spec.masks).map(([id, path]) => [id, readFileSync(path)]));
  const params = RuleParams.parse({ operations: spec.operations, feather_px: spec.feather_px });
  const pool = new KernelPool(1);
  await pool.warm();
  // As in the engine: shared buffers are recycled from one item to the next.
  const arena = new SharedArena();
  const baseline = process.memoryUsage().rss;
  const seconds: number[] = [];
  for (let r = 0; r < spec.repeats; r++) {
    const t = performance.now();
    // Rendering edits its input in place: each run starts from a shared copy, as the engine decodes into one.
    const pixels = arena.take(image.data.length);
    pixels.set(image.data);
    const out = await renderRule(
      {
        image: { ...image, data: pixels },
        protect: spec.protect,
        params,
        // Full-size masks: the whole image is where they may be set.
        loadMask: async (id, into) => {
          into.set(masks[id]);
          return { x0: 0, y0: 0, x1: spec.width, y1: spec.height };
        },
      },
      { pool, arena },
    );
    seconds.push((performance.now() - t) / 1000);
    if (r === spec.repeats - 1) writeFileSync(spec.output, out.pixels);
    out.release();
    arena.give(pixels);
    // BENCH_MEM_TRACE=1: memory after each run on stderr (how the arena keeps RSS flat across items).
    if (process.env.BENCH_MEM_TRACE) {
      const m = process.memoryUsage();
      console.error(
        `run ${r}: rss ${(m.rss / 2 ** 20).toFixed(0)} heap ${(m.heapUsed / 2 ** 20).toFixed(0)} external ${(m.external / 2 ** 20).toFixed(0)} arrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(0)}`,
      );
    }
  }
  await pool.close();
  const measured: Measured = { seconds, peak_rss_bytes: process.resourceUsage().maxRSS * 1024, baseline_rss_bytes: baseline };
  console.log(JSON.stringify(measured));
}

function runMeasured(cmd: string, args: string[]): Measured {
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1', UV_THREADPOOL_SIZE: '4' };
  const out = execFileSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as Measured;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const [width, height] = arg('size', `${BENCH_SIZE.width}x${BENCH_SIZE.height}`).split('x').map(Number);
  const repeats = Number(arg('repeats', '3'));
  ensurePython();
  mkdirSync(WORK, { recursive: true });
  const scene = makeScene(width, height);
  const files = {
    image: join(WORK, 'scene.rgb'),
    wall: join(WORK, 'wall.mask'),
    floor: join(WORK, 'floor.mask'),
    person: join(WORK, 'person.mask'),
  };
  writeFileSync(files.image, scene.rgb);
  for (const id of ['wall', 'floor', 'person'] as const) writeFileSync(files[id], scene.masks[id]);
  const operations = RuleParams.parse({
    operations: [
      { concept: 'wall', op: 'recolor', color: '#A3B18A', strength: 1 },
      { concept: 'floor', op: 'adjust', brightness: 1.1, contrast: 1.05, saturation: 0.9, hue: 10 },
    ],
  }).operations;
  const spec = (output: string): Spec => ({
    width,
    height,
    image: files.image,
    masks: { wall: files.wall, floor: files.floor, person: files.person },
    protect: ['person'],
    operations,
    feather_px: 2,
    output,
    repeats,
  });
  const tsSpec = join(WORK, 'spec-ts.json');
  const pySpec = join(WORK, 'spec-py.json');
  writeFileSync(tsSpec, JSON.stringify(spec(join(WORK, 'out-ts.rgb'))));
  writeFileSync(pySpec, JSON.stringify(spec(join(WORK, 'out-py.rgb'))));

  const mp = (width * height) / 1e6;
  const decoded = width * height * 3;
  console.log(
    `bench:rules — ${width}×${height} (${mp.toFixed(1)} MP), recolor + adjust, protect, feather 2 px, ${repeats} runs each, one thread`,
  );
  const ts = runMeasured(process.execPath, ['--require', 'ts-node/register/transpile-only', __filename, '--child', tsSpec]);
  const py = runMeasured(PYTHON, [join(__dirname, 'rules_reference.py'), pySpec]);

  const a = readFileSync(join(WORK, 'out-ts.rgb'));
  const b = readFileSync(join(WORK, 'out-py.rgb'));
  let sum = 0;
  let max = 0;
  let over2 = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d > max) max = d;
    if (d > 2) over2++;
  }
  const row = (name: string, m: Measured): string => {
    const s = median(m.seconds);
    const delta = m.peak_rss_bytes - m.baseline_rss_bytes;
    return `${name.padEnd(26)} ${s.toFixed(3)} s  ${(mp / s).toFixed(1).padStart(5)} MP/s  first ${m.seconds[0].toFixed(3)} s  peak RSS ${mb(m.peak_rss_bytes)} (baseline ${mb(m.baseline_rss_bytes)}, +${mb(delta)} = ${(delta / decoded).toFixed(2)}× decoded)`;
  };
  console.log(row('TypeScript (sharp+kernels)', ts));
  console.log(row('Python (OpenCV+NumPy)', py));
  console.log(`speed ratio (median): ${(median(py.seconds) / median(ts.seconds)).toFixed(2)}× the reference (target ≥ 1.5×)`);
  console.log(`agreement: mean |Δ| ${(sum / a.length).toFixed(3)}, max |Δ| ${max}, channel values differing by > 2: ${over2}`);
  // The raw inputs and outputs are ~200 MB: not worth keeping between runs.
  rmSync(WORK, { recursive: true, force: true });

  // One whole applyRule as the activity runs it, for context (not part of the comparison).
  const jpeg = await sharp(scene.rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 92 })
    .toBuffer();
  const maskPng = async (m: Uint8Array): Promise<Buffer> =>
    sharp(m, { raw: { width, height, channels: 1 } })
      .png()
      .toBuffer();
  const pool = new KernelPool(1);
  await pool.warm();
  const engine = createRuleEngine({ pool });
  const full = await engine.apply({
    image: jpeg,
    masks: { wall: await maskPng(scene.masks.wall), floor: await maskPng(scene.masks.floor), person: await maskPng(scene.masks.person) },
    concepts: ['wall', 'floor'],
    protect: ['person'],
    params: RuleParams.parse({ operations, feather_px: 2 }),
  });
  await pool.close();
  const t = full.timings;
  console.log(
    `full applyRule (JPEG in): decode ${t.decodeMs.toFixed(0)} ms, render ${t.renderMs.toFixed(0)} ms, PNG+preview ${t.encodeMs.toFixed(0)} ms, checks ${t.checksMs.toFixed(0)} ms; result ${mb(full.result.length)}, preview ${(full.previewJpeg.length / 1024).toFixed(0)} KiB`,
  );
  console.log(`checks: ${JSON.stringify(full.checks)}`);
}

if (process.argv[2] === '--child') {
  child(process.argv[3]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
