/**
 * `npm run bench:segment [-- --repeats N --size WxH]`: the segmenter on a 12 MP photo-like JPEG with six prompts —
 * where the time of one item goes outside the model (EXIF/decode/resize to 1008², per-prompt threshold + NMS + union
 * at full size, mask PNG encoding) next to the model's own time (here the contract fixture: a real SAM3 export on a
 * GPU spends ≈ 20 ms encoding the image and ≈ 20 ms per prompt, DESIGN.md). Also checks the masks against the scene.
 */
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { ensureModelFixture } from '../scripts/model-fixture/generate';
import { encodeMaskPng } from '../services/image/masks';
import { resampleMask } from '../services/image/maskResample';
import { createSegmenter } from '../gpu-activities/segmenter/segmenter';
import { BENCH_SIZE, makeScene } from './scene';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const [width, height] = arg('size', `${BENCH_SIZE.width}x${BENCH_SIZE.height}`).split('x').map(Number);
  const repeats = Number(arg('repeats', '3'));
  const modelDir = resolve(process.env.MODEL_DIR ?? join(__dirname, '..', '.data', 'model-fixture'));
  ensureModelFixture(modelDir);
  sharp.concurrency(1);

  const scene = makeScene(width, height);
  const jpeg = await sharp(scene.rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 92 })
    .toBuffer();
  const ids = ['wall', 'floor', 'window', 'sofa', 'plant', 'person'] as const;
  const prompts = ids.map((id) => ({ id, prompt: id }));
  const segmenter = createSegmenter({ modelDir, log: { info: () => undefined, warn: (m) => console.warn(m) } });
  await segmenter.warm();

  const mp = (width * height) / 1e6;
  console.log(`bench:segment — ${width}×${height} (${mp.toFixed(1)} MP) JPEG, ${ids.length} prompts, ${repeats} runs, model ${modelDir}`);
  const pre: number[] = [];
  const model: number[] = [];
  const post: number[] = [];
  const encode: number[] = [];
  let last;
  for (let r = 0; r < repeats; r++) {
    const out = await segmenter.segment(jpeg, prompts);
    const t = performance.now();
    for (const mask of out.masks.values()) await encodeMaskPng(mask, out.maskWidth, out.maskHeight);
    encode.push(performance.now() - t);
    pre.push(out.timings.preprocessMs);
    model.push(out.timings.modelMs);
    post.push(out.timings.postprocessMs);
    last = out;
  }
  const ms = (v: number): string => `${v.toFixed(0).padStart(5)} ms`;
  const outside = median(pre) + median(post) + median(encode);
  console.log(`preprocess (EXIF, decode, resize to 1008², planar)     ${ms(median(pre))}`);
  console.log(
    `postprocess (threshold, NMS, union at ≤ 1008 px; ${ids.length} prompts)       ${ms(median(post))}  (${(median(post) / ids.length).toFixed(0)} ms per prompt)`,
  );
  console.log(`mask PNG encoding (${ids.length} masks)                        ${ms(median(encode))}`);
  console.log(`= outside the model, per 12 MP item                   ${ms(outside)}`);
  console.log(`model run (contract fixture on CPU: 1 encode + ${ids.length} decodes) ${ms(median(model))}`);

  // Sanity: the fixture's masks, upsampled as applyRule does, against the scene's own regions (edges blur by a pixel
  // or two in the resampling).
  const agreement = ids.map((id) => {
    const got = resampleMask(last!.masks.get(id)!, last!.maskWidth, last!.maskHeight, last!.width, last!.height);
    const want = scene.masks[id];
    let inter = 0;
    let union = 0;
    for (let i = 0; i < got.length; i++) {
      const a = got[i] !== 0;
      const b = want[i] !== 0;
      if (a && b) inter++;
      if (a || b) union++;
    }
    return `${id} ${(inter / union).toFixed(3)}`;
  });
  console.log(`mask IoU vs the painted scene: ${agreement.join(', ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
