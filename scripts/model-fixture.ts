/**
 * `npm run model:fixture -- [DIR] [--layout samexporter|usls-v2]`: writes the SAM3 contract-fixture model to
 * `DIR/sam3/` (default: MODEL_DIR, or .data/model-fixture) in the given export layout (default samexporter; usls-v2
 * has a dynamic batch axis and lets the GPU worker batch). See scripts/model-fixture/sam3Fixture.ts and uslsFixture.ts
 * for the colour rule both compute.
 */
import { resolve } from 'node:path';
import { SAM3_LAYOUTS, type Sam3LayoutName } from '../gpu-activities/segmenter/sam3Layout';
import { writeModelFixture } from './model-fixture/generate';

const args = process.argv.slice(2);
const at = args.indexOf('--layout');
const layout = (at >= 0 ? args[at + 1] : 'samexporter') as Sam3LayoutName;
if (!SAM3_LAYOUTS.includes(layout)) {
  console.error(`--layout: expected one of ${SAM3_LAYOUTS.join(', ')}, got ${layout}`);
  process.exit(2);
}
const positional = args.filter((a, i) => !a.startsWith('--') && !(at >= 0 && i === at + 1));
const dir = resolve(positional[0] ?? process.env.MODEL_DIR ?? '.data/model-fixture');
const started = Date.now();
for (const path of writeModelFixture(dir, layout)) console.log(`wrote ${path}`);
console.log(`contract-fixture model (${layout} layout) ready in ${Date.now() - started} ms`);
