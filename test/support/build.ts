/** The sources compiled as the images are (scripts/build.ts), for the suites that run the JavaScript the images run. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { compileTree } from '../../scripts/build';

const ROOT = join(__dirname, '..', '..');
let built: string | undefined;

/**
 * The compiled tree, built once per test run under .data/, so that its modules resolve the checkout's node_modules;
 * removed when the run's process exits.
 */
export function builtTree(): string {
  if (!built) {
    mkdirSync(join(ROOT, '.data'), { recursive: true });
    const out = mkdtempSync(join(ROOT, '.data', 'test-build-'));
    process.once('exit', () => rmSync(out, { recursive: true, force: true }));
    compileTree(ROOT, out);
    built = out;
  }
  return built;
}
