/**
 * `npm run model:fixture -- [DIR]`: writes the SAM3 contract-fixture model to `DIR/sam3/` (default: MODEL_DIR, or
 * .data/model-fixture). See scripts/model-fixture/sam3Fixture.ts for the colour rule it computes.
 */
import { resolve } from 'node:path';
import { writeModelFixture } from './model-fixture/generate';

const dir = resolve(process.argv[2] ?? process.env.MODEL_DIR ?? '.data/model-fixture');
const started = Date.now();
for (const path of writeModelFixture(dir)) console.log(`wrote ${path}`);
console.log(`contract-fixture model ready in ${Date.now() - started} ms`);
