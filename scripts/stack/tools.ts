/** Where scripts/tools.sh puts the pinned service binaries, and a way to make sure they are there. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const TOOLS_BIN = path.join(REPO_ROOT, '.tools', 'bin');
export const TEMPORAL_BIN = path.join(TOOLS_BIN, 'temporal');
export const WEED_BIN = path.join(TOOLS_BIN, 'weed');
/** Python of the venv holding Runpod's worker SDK (its local API server runs our Runpod handler). */
export const RUNPOD_PYTHON = path.join(REPO_ROOT, '.tools', 'runpod-venv', 'bin', 'python');

/** Runs scripts/tools.sh when a binary is missing (it is a no-op when the pinned versions are installed). */
export function ensureTools(): void {
  if (fs.existsSync(TEMPORAL_BIN) && fs.existsSync(WEED_BIN) && fs.existsSync(RUNPOD_PYTHON)) return;
  const res = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'tools.sh'), '--quiet'], { stdio: 'inherit' });
  if (res.status !== 0) throw new Error(`scripts/tools.sh failed (exit ${res.status ?? res.signal})`);
}
