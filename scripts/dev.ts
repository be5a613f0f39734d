/**
 * `npm run dev`: the whole system on this machine with one command. Starts Temporal (7233, UI 8233) and SeaweedFS
 * (S3 on 8333) with state under .data/ so workflows and objects survive restarts, applies DB migrations, then runs
 * the API and the three workers (orchestration, CPU, GPU) with logs prefixed by process. Ctrl-C stops everything; if any process dies, everything
 * is stopped and the exit code is 1.
 * Ports: TEMPORAL_PORT, TEMPORAL_UI_PORT, S3_PORT. The rest of the configuration is domain/config.ts (.env).
 * `GPU_PROVIDER=runpod npm run dev` without RUNPOD_ENDPOINT_ID runs Runpod on this machine (scripts/runpod-local:
 * Runpod's local API server with our handler, on RUNPOD_LOCAL_PORT, default 8300) and the GPU process is the
 * dispatcher; with RUNPOD_ENDPOINT_ID set it dispatches to that real endpoint.
 */
import fs from 'node:fs';
import path from 'node:path';
import { config as loadDotenv } from 'dotenv';
import { ConfigError, parseConfig, type Config } from '../domain/config';
import { DEV_MODEL_DIR, ensureModelFixture } from './model-fixture/generate';
import { startRunpodLocal, type RunpodLocal } from './runpod-local';
import { prefixedLogger, startProcess, type ManagedProcess } from './stack/process';
import { REPO_ROOT, startStack, type Stack } from './stack';
import { CPU_WORKER_NODE_FLAGS } from '../services/workerProcess';

const APPS: { name: string; entry: string; nodeFlags?: readonly string[] }[] = [
  { name: 'api', entry: 'api/server.ts' },
  { name: 'worker', entry: 'activities/worker.ts' },
  { name: 'cpu', entry: 'activities/cpuWorker.ts', nodeFlags: CPU_WORKER_NODE_FLAGS },
  { name: 'gpu', entry: 'gpu-activities/worker.ts' },
];

const say = prefixedLogger('dev');

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (!raw) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`invalid configuration:\n  - ${name}: expected a port`);
  return port;
}

function loadConfig(): Config {
  loadDotenv({ path: path.join(REPO_ROOT, '.env'), quiet: true });
  try {
    return parseConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

/** Runs a node entry file with ts-node, its output prefixed with `name`. */
function runTs(name: string, args: string[], env: NodeJS.ProcessEnv, nodeFlags: readonly string[] = []): ManagedProcess {
  return startProcess({
    name,
    command: process.execPath,
    args: [...nodeFlags, '-r', 'ts-node/register/transpile-only', ...args],
    cwd: REPO_ROOT,
    env,
  });
}

async function main(): Promise<void> {
  // The AWS SDK warns in every process that its Node 20 support ends in 2027; the project targets Node 20 on purpose.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  loadDotenv({ path: path.join(REPO_ROOT, '.env'), quiet: true });
  const localRunpod = process.env.GPU_PROVIDER === 'runpod' && !process.env.RUNPOD_ENDPOINT_ID;
  if (localRunpod) Object.assign(process.env, { RUNPOD_ENDPOINT_ID: 'local', RUNPOD_API_KEY: 'local-runpod-key' });
  const config = loadConfig();
  const ports = {
    temporalPort: portFromEnv('TEMPORAL_PORT', 7233),
    temporalUiPort: portFromEnv('TEMPORAL_UI_PORT', 8233),
    s3Port: portFromEnv('S3_PORT', 8333),
  };
  const dataDir = path.join(REPO_ROOT, '.data');
  fs.mkdirSync(dataDir, { recursive: true }); // also the default home of the SQLite database

  let stack: Stack | undefined = undefined; // assigned once started; shutdown() may run before that
  let runpod: RunpodLocal | undefined;
  const apps: ManagedProcess[] = [];
  let shuttingDown = false;
  const shutdown = async (code: number, why: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    say(`${why}: stopping…`);
    // Apps first (they drain their work against the servers), then the servers. Processes that were still
    // starting are terminated by process.ts's exit hook.
    await Promise.all(apps.map((a) => a.stop()));
    await runpod?.stop();
    await stack?.stop();
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => (shuttingDown ? process.exit(130) : void shutdown(0, 'SIGINT'))); // 2nd Ctrl-C: now
  process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));

  say('starting Temporal and S3…');
  stack = await startStack(config, { dataDir, ...ports, log: (source, line) => prefixedLogger(source)(line) });
  void stack.exited.then((name) => void shutdown(1, `${name} exited unexpectedly`));

  const env: NodeJS.ProcessEnv = { ...process.env, ...stack.env };
  if (config.MODEL_DIR === DEV_MODEL_DIR && ensureModelFixture(config.MODEL_DIR)) {
    // Development default: the contract-fixture model, generated on first use (it is git-ignored).
    say(`generated the contract-fixture model in ${config.MODEL_DIR}`);
  }

  if (localRunpod) {
    say('starting Runpod locally (runpod --rp_serve_api with our handler)…');
    runpod = await startRunpodLocal({
      env,
      port: portFromEnv('RUNPOD_LOCAL_PORT', 8300),
      endpointId: config.RUNPOD_ENDPOINT_ID,
      apiKey: config.RUNPOD_API_KEY,
      log: prefixedLogger('runpod'),
    });
    Object.assign(env, runpod.env, { RUNPOD_WEBHOOK_URL: `http://127.0.0.1:${config.PORT}` });
    say(`Runpod endpoint ${runpod.env.RUNPOD_API_BASE}/${runpod.env.RUNPOD_ENDPOINT_ID} (the gpu process dispatches to it)`);
  }

  if (fs.existsSync(path.join(REPO_ROOT, 'entities/migrate.ts'))) {
    say('applying database migrations');
    const migrate = startProcess({ name: 'migrate', command: 'npm', args: ['run', '--silent', 'migrate'], cwd: REPO_ROOT, env });
    const { code } = await migrate.exited;
    if (code !== 0) return shutdown(1, `migrations failed (exit ${code})`);
  }

  for (const app of APPS) {
    if (shuttingDown) break;
    if (!fs.existsSync(path.join(REPO_ROOT, app.entry))) {
      say(`${app.entry} not found: ${app.name} not started`);
      continue;
    }
    const proc = runTs(app.name, [app.entry], env, app.nodeFlags);
    apps.push(proc);
    void proc.exited.then((e) => {
      if (proc.stopping || shuttingDown) return;
      void shutdown(1, `${app.name} exited unexpectedly (code ${e.code}, signal ${e.signal})`);
    });
  }

  const t = stack.temporal;
  say(`Temporal ${t.address} (namespace ${t.namespace}), Web UI ${t.uiUrl}`);
  say(`S3 ${stack.s3.endpoint} (bucket ${config.STORAGE_BUCKET}), data in ${path.relative(process.cwd(), dataDir) || '.'}`);
  if (apps.some((a) => a.name === 'api')) say(`API http://127.0.0.1:${config.PORT} (docs at /docs)`);
  say('Ctrl-C stops everything');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1); // process.ts's exit hook terminates anything already started
});
