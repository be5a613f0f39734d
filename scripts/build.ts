/**
 * What deploy/Dockerfile does to the sources, for code that needs the same JavaScript outside an image (the deploy test,
 * bench:item-cost): tsc, then the runtime files that are not TypeScript copied next to the JavaScript.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The folders whose code runs in the images: tsc compiles them, and their other files are copied into dist/. */
export const RUNTIME_FOLDERS = ['api', 'activities', 'domain', 'entities', 'gpu-activities', 'services', 'workflows'];

/**
 * Compiles the tree under `src` with its own tsconfig.json into `out` (emptied first) and copies the runtime assets of
 * its RUNTIME_FOLDERS. Emits only (tsc --noCheck): `npm run typecheck` checks the types. A failed compile throws with
 * tsc's output.
 */
export function compileTree(src: string, out: string): void {
  rmSync(out, { recursive: true, force: true });
  const args = ['-p', join(src, 'tsconfig.json'), '--outDir', out, '--sourceMap', 'false', '--noCheck'];
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), ...args], { cwd: src, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`tsc failed on ${src}:\n${stdout ?? ''}${stderr ?? ''}`);
  }
  for (const folder of RUNTIME_FOLDERS) {
    if (!existsSync(join(src, folder))) continue;
    for (const file of readdirSync(join(src, folder), { recursive: true }) as string[]) {
      const from = join(src, folder, file);
      if (file.endsWith('.ts') || !statSync(from).isFile()) continue;
      mkdirSync(dirname(join(out, folder, file)), { recursive: true });
      copyFileSync(from, join(out, folder, file));
    }
  }
}
