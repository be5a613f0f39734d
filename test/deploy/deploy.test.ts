/**
 * The deploy artefacts checked offline. No Docker engine or Kubernetes cluster runs on the development machines, so
 * docker-compose.temporal.yml, deploy/Dockerfile and deploy/k8s/ are parsed here and held to the code they deploy:
 * the configuration schema (every variable is a real key and the resulting environment passes parseConfig), the entry
 * points tsc produces, the GPU task queue, the job workflow's search attributes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { CONFIG_KEYS, parseConfig } from '../../domain/config';
import { JOB_SEARCH_ATTRIBUTES } from '../../workflows/contract';
import { RUNTIME_FOLDERS } from '../../scripts/build';
import { CPU_WORKER_NODE_FLAGS } from '../../services/workerProcess';
import { builtTree } from '../support/build';

type Obj = Record<string, any>;

const ROOT = path.resolve(__dirname, '..', '..');
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');
const exists = (rel: string) => fs.existsSync(path.join(ROOT, rel));
const KEYS = new Set<string>(CONFIG_KEYS);
const DEFAULTS = parseConfig({});

/** Every document of a (multi-document) YAML file; parse errors fail the test. Merge keys (`<<: *anchor`) resolved. */
function yamlDocs(rel: string): Obj[] {
  const docs = YAML.parseAllDocuments(read(rel), { merge: true });
  const list = Array.isArray(docs) ? docs : [];
  const out: Obj[] = [];
  for (const doc of list) {
    assert.deepEqual(
      doc.errors.map((e) => e.message),
      [],
      `${rel} does not parse`,
    );
    const js = doc.toJS({ maxAliasCount: -1 });
    if (js !== null && js !== undefined) out.push(js);
  }
  assert.ok(out.length > 0, `${rel} has no document`);
  return out;
}

/**
 * Compose variable interpolation: `$$` -> `$`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
 * `${VAR?error}`, `$VAR`. A missing required variable throws with compose's message.
 */
function interpolate(text: string, vars: Record<string, string | undefined>): string {
  const pattern = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
  return text.replace(pattern, (match, name?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
    if (match === '$$') return '$';
    if (bare) return vars[bare] ?? '';
    const value = vars[name!];
    const unset = value === undefined || (colon === ':' && value === '');
    if (op === '-') return unset ? arg! : value!;
    if (op === '?') {
      if (unset) throw new Error(`required variable ${name} is missing a value: ${arg}`);
      return value!;
    }
    return value ?? '';
  });
}

/** Interpolates every string of a parsed compose file (keys are not interpolated, as in compose). */
function interpolateDeep<T>(value: T, vars: Record<string, string | undefined>): T {
  if (typeof value === 'string') return interpolate(value, vars) as T;
  if (Array.isArray(value)) return value.map((v) => interpolateDeep(v, vars)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, vars)])) as T;
  }
  return value;
}

/** A compose `environment` (mapping or list of KEY=VALUE) as a mapping. */
function envOf(service: Obj): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e: string) => [e.split('=')[0], e.slice(e.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** An image reference pinned to a version tag (not `latest`, not untagged). */
function assertPinned(image: string, where: string) {
  const m = /^(?:[^/]+\/)*[^/:@]+:([^:@/]+)$/.exec(image);
  assert.ok(m, `${where}: image ${image} has no tag`);
  assert.notEqual(m[1], 'latest', `${where}: image ${image} uses latest`);
  assert.match(m[1], /\d/, `${where}: image ${image} is not pinned to a version`);
}

/** `node dist/<x>.js` -> the TypeScript source tsc compiles it from must exist. */
function assertNodeEntry(command: string[], where: string) {
  assert.equal(command[0], 'node', `${where}: ${JSON.stringify(command)} does not run node`);
  const file = command.slice(1).find((arg) => !arg.startsWith('--'));
  const m = /^dist\/(.+)\.js$/.exec(file ?? '');
  assert.ok(m, `${where}: ${JSON.stringify(command)} does not run a file under dist/`);
  assert.ok(exists(`${m[1]}.ts`), `${where}: ${file} has no source ${m[1]}.ts`);
}

// ---------------------------------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** Parses a Dockerfile into global ARG defaults and stages (line continuations joined, comments dropped). */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line)) continue; // comments (also inside a continuation)
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op, rest] = /^(\S+)\s*(.*)$/.exec(line)!;
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      assert.ok(m, `bad FROM line: ${line}`);
      const base = m[1].replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args[a ?? b] ?? '');
      stages.push({ name: m[2] ?? `#${stages.length}`, base, instructions: [] });
    } else if (stages.length === 0) {
      if (upper === 'ARG') {
        const [k, v] = rest.split('=');
        args[k] = v ?? '';
      }
    } else {
      stages[stages.length - 1].instructions.push({ op: upper, args: rest });
    }
  }
  return { args, stages };
}

describe('deploy manifests', () => {
  describe('docker-compose.temporal.yml', () => {
    const FILE = 'docker-compose.temporal.yml';
    const SAMPLE_ENV = {
      JWT_SECRET: 'sample-jwt-secret-0123456789abcdef',
      GPU_CALLBACK_SECRET: 'sample-callback-secret-0123456789abcdef',
    };
    const [raw] = yamlDocs(FILE);
    const compose = interpolateDeep(raw, SAMPLE_ENV);
    const services: Obj = compose.services ?? {};
    const builtFromDockerfile = (s: Obj) => s.build && s.build.dockerfile === 'deploy/Dockerfile';
    const APP_SERVICES = Object.keys(services).filter((name) => builtFromDockerfile(services[name]));
    const dockerfile = parseDockerfile(read('deploy/Dockerfile'));

    it('has the whole stack: MySQL, Temporal (+ setup one-shots, UI), S3 (+ bucket one-shot), migrate, api, workers', () => {
      for (const name of [
        'mysql',
        'temporal',
        'temporal-setup',
        'temporal-ui',
        'seaweedfs',
        's3-setup',
        'migrate',
        'api',
        'worker',
        'cpu-worker',
        'gpu-worker',
      ]) {
        assert.ok(services[name], `service ${name} is missing`);
      }
      assert.deepEqual(APP_SERVICES.sort(), ['api', 'cpu-worker', 'gpu-worker', 'migrate', 's3-setup', 'worker']);
    });

    it('pins every image tag and builds the app services from existing Dockerfile targets', () => {
      const targets = new Set(dockerfile.stages.map((s) => s.name));
      for (const [name, s] of Object.entries<Obj>(services)) {
        if (s.build) {
          assert.equal(s.build.context, '.', `${name}: build context is the repository root`);
          assert.ok(targets.has(s.build.target), `${name}: Dockerfile target ${s.build.target} does not exist`);
          if (s.image) assert.doesNotMatch(s.image, /:latest$/, `${name}: image ${s.image}`);
        } else {
          assert.ok(s.image, `${name}: neither image nor build`);
          assertPinned(s.image, name);
        }
      }
      assert.match(services.mysql.image, /^mysql:8\./);
      assert.equal(services.api.build.target, 'api');
      assert.equal(services.worker.build.target, 'worker');
      assert.equal(services['cpu-worker'].build.target, 'cpu-worker');
      // The image's CMD carries the CPU worker's node flags: a command here would drop them.
      assert.equal(services['cpu-worker'].command, undefined, 'cpu-worker overrides the image CMD');
      assert.equal(services['gpu-worker'].build.target, 'gpu-worker');
    });

    it('health-checks mysql, temporal, seaweedfs and the api (on /readyz), and every service_healthy dependency has one', () => {
      for (const name of ['mysql', 'temporal', 'seaweedfs', 'api']) {
        const test = services[name].healthcheck?.test;
        assert.ok(Array.isArray(test) && test.length > 1 && test[0] !== 'NONE', `${name} has no healthcheck`);
      }
      const apiCheck = services.api.healthcheck.test.join(' ');
      assert.match(apiCheck, /\/readyz/);
      assert.match(apiCheck, new RegExp(`:${DEFAULTS.PORT}/`));
      for (const [name, s] of Object.entries<Obj>(services)) {
        for (const [dep, cond] of Object.entries<Obj>(s.depends_on ?? {})) {
          assert.ok(services[dep], `${name} depends on unknown service ${dep}`);
          if (cond.condition === 'service_healthy') assert.ok(services[dep].healthcheck, `${name}: ${dep} has no healthcheck`);
          if (cond.condition === 'service_completed_successfully') {
            assert.equal(services[dep].restart ?? 'no', 'no', `${name}: one-shot ${dep} must not restart`);
          }
        }
      }
    });

    it('starts the api only after the database, Temporal, its setup, the bucket and the migrations are ready', () => {
      const deps = services.api.depends_on;
      assert.equal(deps.mysql.condition, 'service_healthy');
      assert.equal(deps.temporal.condition, 'service_healthy');
      for (const oneShot of ['temporal-setup', 's3-setup', 'migrate']) {
        assert.equal(deps[oneShot].condition, 'service_completed_successfully', `api -> ${oneShot}`);
      }
      assert.equal(services.worker.depends_on['temporal-setup'].condition, 'service_completed_successfully');
      assert.equal(services['gpu-worker'].depends_on['temporal-setup'].condition, 'service_completed_successfully');
    });

    it('runs Temporal on MySQL 8 persistence with Update-with-Start enabled', () => {
      const env = envOf(services.temporal);
      assert.equal(env.DB, 'mysql8');
      assert.equal(env.MYSQL_SEEDS, 'mysql');
      assert.equal(env.MYSQL_PWD, envOf(services.mysql).MYSQL_ROOT_PASSWORD);
      const mounted = (services.temporal.configs ?? []).find((c: Obj) => c.target.endsWith(env.DYNAMIC_CONFIG_FILE_PATH));
      assert.ok(mounted, 'the dynamic config file is mounted where DYNAMIC_CONFIG_FILE_PATH points');
      const dynamic = YAML.parse(compose.configs[mounted.source].content);
      assert.equal(dynamic['frontend.enableUpdateWorkflowExecution'][0].value, true);
      assert.equal(dynamic['frontend.enableExecuteMultiOperation'][0].value, true);
      const schema = services['temporal-schema'];
      assert.equal(services.temporal.depends_on['temporal-schema'].condition, 'service_completed_successfully');
      assert.match(schema.command.join('\n'), /temporal-sql-tool --plugin mysql8/);
    });

    it('registers the job workflow search attributes (Keyword) after a cluster health check', () => {
      const s = services['temporal-setup'];
      assert.match(s.image, /^temporalio\/admin-tools:/);
      const script = s.command.join('\n');
      assert.match(script, /temporal operator cluster health/);
      assert.match(script, /search-attribute create .*--type Keyword/);
      for (const name of Object.values(JOB_SEARCH_ATTRIBUTES)) assert.match(script, new RegExp(`\\b${name}\\b`), name);
      assert.equal(envOf(s).TEMPORAL_ADDRESS, envOf(services.api).TEMPORAL_ADDRESS);
    });

    it('publishes the API on PORT 3000, and Temporal (no auth) and its UI on 127.0.0.1 only', () => {
      assert.deepEqual(services.api.ports, [`${DEFAULTS.PORT}:${DEFAULTS.PORT}`]);
      assert.equal(envOf(services.api).PORT, String(DEFAULTS.PORT));
      assert.deepEqual(services['temporal-ui'].ports, ['127.0.0.1:8233:8080']);
      assert.deepEqual(services.temporal.ports, ['127.0.0.1:7233:7233']);
      assert.match(services['temporal-ui'].image, /^temporalio\/ui:/);
    });

    it('gives the GPU worker an NVIDIA GPU, the CUDA onnxruntime build and the read-only model directory', () => {
      const gpu = services['gpu-worker'];
      const devices: Obj[] = gpu.deploy?.resources?.reservations?.devices ?? [];
      assert.ok(
        devices.some((d) => d.driver === 'nvidia' && d.capabilities.includes('gpu')),
        'no nvidia/gpu device reservation',
      );
      assert.equal(gpu.build.args.ONNXRUNTIME_NODE_INSTALL, 'cuda12');
      const env = envOf(gpu);
      assert.ok(gpu.volumes.includes(`./models:${env.MODEL_DIR}:ro`), 'MODEL_DIR is not ./models mounted read-only');
      assert.equal(env.ORT_EXECUTION_PROVIDER, 'cuda');
      assert.equal(env.GPU_TASK_QUEUE, DEFAULTS.GPU_TASK_QUEUE);
    });

    it('sets only configuration variables on the app services, and the result passes parseConfig in production', () => {
      for (const name of APP_SERVICES) {
        const env = envOf(services[name]);
        for (const key of Object.keys(env)) assert.ok(KEYS.has(key), `${name}: ${key} is not a configuration variable`);
        const config = parseConfig(env);
        assert.equal(config.NODE_ENV, 'production', name);
        assert.equal(config.JWT_SECRET, SAMPLE_ENV.JWT_SECRET, name);
        assert.equal(config.GPU_CALLBACK_SECRET, SAMPLE_ENV.GPU_CALLBACK_SECRET, name);
        assert.equal(config.TEMPORAL_TASK_QUEUE, DEFAULTS.TEMPORAL_TASK_QUEUE, name);
        assert.equal(config.GPU_TASK_QUEUE, DEFAULTS.GPU_TASK_QUEUE, name);
      }
    });

    it('requires the production secrets from the environment (no default, compose refuses to start without them)', () => {
      const env = envOf(raw.services.api);
      assert.match(env.JWT_SECRET, /^\$\{JWT_SECRET:\?[^}]+\}$/);
      assert.match(env.GPU_CALLBACK_SECRET, /^\$\{GPU_CALLBACK_SECRET:\?[^}]+\}$/);
      assert.throws(() => interpolateDeep(raw, {}), /JWT_SECRET|GPU_CALLBACK_SECRET/);
      assert.throws(() => interpolateDeep(raw, { ...SAMPLE_ENV, JWT_SECRET: '' }), /JWT_SECRET/);
    });

    it('points the app at the services of the stack with matching credentials', () => {
      const env = envOf(services.api);
      // Database: the app user and database MySQL creates.
      const db = new URL(env.DATABASE_URL);
      const mysql = envOf(services.mysql);
      assert.equal(db.hostname, 'mysql');
      assert.equal(db.username, mysql.MYSQL_USER);
      assert.equal(decodeURIComponent(db.password), mysql.MYSQL_PASSWORD);
      assert.equal(db.pathname, `/${mysql.MYSQL_DATABASE}`);
      // Temporal frontend.
      assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233');
      assert.ok(services.temporal.ports.includes('127.0.0.1:7233:7233'));
      // S3: the endpoint is the SeaweedFS S3 port, and its identity holds the app's keys.
      const s3 = new URL(env.STORAGE_S3_ENDPOINT);
      assert.equal(s3.hostname, 'seaweedfs');
      const args: string[] = services.seaweedfs.command;
      assert.ok(args.includes(`-s3.port=${s3.port}`), `SeaweedFS S3 does not listen on ${s3.port}`);
      const configFlag = args.find((a) => a.startsWith('-s3.config='))!.split('=')[1];
      const mounted = services.seaweedfs.configs.find((c: Obj) => c.target === configFlag);
      assert.ok(mounted, 'the S3 identities file is mounted where -s3.config points');
      const identities = JSON.parse(compose.configs[mounted.source].content).identities;
      assert.deepEqual(identities[0].credentials, [{ accessKey: env.STORAGE_ACCESS_KEY, secretKey: env.STORAGE_SECRET_KEY }]);
      assert.ok(services.seaweedfs.ports.includes(`${new URL(env.STORAGE_PUBLIC_ENDPOINT).port}:${s3.port}`));
    });

    it('runs entry points that tsc produces from existing sources', () => {
      assertNodeEntry(services.migrate.command, 'migrate');
      assert.equal(services.migrate.command[1], 'dist/entities/migrate.js');
      const script: string = services['s3-setup'].command.join('\n');
      const required = [...script.matchAll(/require\('\.\/dist\/([^']+)'\)/g)].map((m) => m[1]);
      assert.ok(required.length >= 2, 's3-setup requires nothing from dist/');
      for (const mod of required) assert.ok(exists(`${mod}.ts`), `s3-setup requires dist/${mod} without source`);
      assert.match(read('services/storage.ts'), /ensureBucket\(\)/);
    });
  });

  describe('deploy/Dockerfile', () => {
    const { stages } = parseDockerfile(read('deploy/Dockerfile'));
    const byName = new Map(stages.map((s) => [s.name, s]));
    /** The stage and the stages it is built FROM, nearest first. */
    const chain = (name: string): Stage[] => {
      const out: Stage[] = [];
      for (let s = byName.get(name); s; s = byName.get(s.base)) out.push(s);
      return out;
    };
    const find = (name: string, op: string) => {
      for (const s of chain(name)) {
        const found = [...s.instructions].reverse().find((i) => i.op === op);
        if (found) return found;
      }
      return undefined;
    };
    const TARGETS: Record<string, string> = {
      api: 'dist/api/server.js',
      worker: 'dist/activities/worker.js',
      'cpu-worker': 'dist/activities/cpuWorker.js',
      'gpu-worker': 'dist/gpu-activities/worker.js',
    };

    it('is multi-stage with the api, worker, cpu-worker and gpu-worker targets on pinned base images', () => {
      assert.ok(stages.length >= 4, `only ${stages.length} stages`);
      for (const target of Object.keys(TARGETS)) assert.ok(byName.has(target), `target ${target} is missing`);
      for (const s of stages) if (!byName.has(s.base)) assertPinned(s.base, `FROM of stage ${s.name}`);
    });

    it('runs every runtime target as a non-root user', () => {
      for (const target of Object.keys(TARGETS)) {
        const user = find(target, 'USER');
        assert.ok(user, `${target} has no USER`);
        assert.doesNotMatch(user.args.split(':')[0], /^(root|0)$/, `${target} runs as ${user.args}`);
      }
    });

    /** Targets started with node flags of their own (services/workerProcess.ts). */
    const NODE_FLAGS: Record<string, readonly string[]> = { 'cpu-worker': CPU_WORKER_NODE_FLAGS };

    it('starts each target with the entry point tsc produces from its source', () => {
      for (const [target, entry] of Object.entries(TARGETS)) {
        const cmd = find(target, 'CMD');
        assert.ok(cmd, `${target} has no CMD`);
        const argv = JSON.parse(cmd.args);
        assert.deepEqual(argv, ['node', ...(NODE_FLAGS[target] ?? []), entry], target);
        assertNodeEntry(argv, target);
      }
      // `npm run cpu-worker` starts it with the same flags.
      const script: string = JSON.parse(read('package.json')).scripts['cpu-worker'];
      assert.equal(script, `node ${CPU_WORKER_NODE_FLAGS.join(' ')} -r ts-node/register/transpile-only activities/cpuWorker.ts`);
      const tsconfig = JSON.parse(read('tsconfig.json')).compilerOptions;
      assert.equal(tsconfig.outDir, 'dist');
      assert.equal(tsconfig.rootDir, '.');
      const include: string[] = JSON.parse(read('tsconfig.json')).include;
      for (const folder of RUNTIME_FOLDERS) assert.ok(include.includes(folder), `tsconfig does not compile ${folder}/`);
      // The orchestration worker bundles require.resolve('../workflows') from dist/activities: dist/workflows/index.js.
      assert.match(read('activities/worker.ts'), /require\.resolve\('\.\.\/workflows'\)/);
      assert.ok(exists('workflows/index.ts'));
    });

    it('compiles what the images run: the kernel threads of the CPU and GPU workers start from the JavaScript', async function () {
      // Worker threads load their script by path, never through an import, so tsc emits it only when its folder is in
      // tsconfig's include (a worker script under services/ once was not, and the built workers could not start).
      this.timeout(180_000);
      const out = builtTree();
      const { WorkerKernelPool } = require(path.join(out, 'services', 'kernelPool.js'));
      const pools = [
        { table: 'activities/rules/kernelTable.js', name: 'coverage', args: [Uint8Array.of(0, 255, 255, 0)], expected: 0.5 },
        { table: 'gpu-activities/segmenter/postKernels.js', name: 'ping', args: [], expected: true },
      ];
      for (const { table, name, args, expected } of pools) {
        const pool = new WorkerKernelPool(1, path.join(out, table), { name, args });
        try {
          assert.equal(await pool.run(name, args), expected, table);
        } finally {
          await pool.close();
        }
      }
    });

    it('builds with tsc, copies the runtime assets next to the JavaScript, and ships dist/ in every target', () => {
      const build = byName.get('build')!;
      const runs = build.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
      assert.ok(
        runs.some((r) => r.includes('npm run build')),
        'the build stage does not run npm run build',
      );
      const copyAssets = runs.find((r) => r.includes('cp --parents'));
      assert.ok(copyAssets, 'non-TypeScript runtime files are not copied into dist/');
      const assets = RUNTIME_FOLDERS.flatMap((folder) =>
        (fs.readdirSync(path.join(ROOT, folder), { recursive: true }) as string[])
          .filter((f) => fs.statSync(path.join(ROOT, folder, f)).isFile() && !f.endsWith('.ts'))
          .map(() => folder),
      );
      for (const folder of new Set(assets)) assert.match(copyAssets, new RegExp(`\\b${folder}\\b`), `assets of ${folder}/`);
      for (const target of Object.keys(TARGETS)) {
        const copies = chain(target).flatMap((s) => s.instructions.filter((i) => i.op === 'COPY'));
        assert.ok(
          copies.some((c) => /--from=build\s+\/app\/dist\s+\.\/dist/.test(c.args)),
          `${target} does not copy dist/`,
        );
      }
    });

    it('installs production dependencies with npm ci --omit=dev, CUDA onnxruntime only when the build arg asks', () => {
      const modulesStage = (target: string) => {
        for (const s of chain(target)) {
          const copy = s.instructions.find((i) => i.op === 'COPY' && /\/app\/node_modules/.test(i.args));
          if (copy) return byName.get(/--from=(\S+)/.exec(copy.args)![1])!;
        }
        assert.fail(`${target} copies no node_modules`);
      };
      for (const target of Object.keys(TARGETS)) {
        const deps = modulesStage(target);
        const runs = chain(deps.name).flatMap((s) => s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args));
        assert.ok(
          runs.some((r) => /npm ci\b.*--omit=dev/.test(r)),
          `${target}: node_modules from ${deps.name} are not npm ci --omit=dev`,
        );
      }
      const gpuDeps = modulesStage('gpu-worker');
      assert.ok(gpuDeps.instructions.some((i) => i.op === 'ARG' && /^ONNXRUNTIME_NODE_INSTALL(=skip)?$/.test(i.args)));
      assert.ok(
        gpuDeps.instructions.some(
          (i) =>
            i.op === 'RUN' &&
            /ONNXRUNTIME_NODE_INSTALL="?\$\{?ONNXRUNTIME_NODE_INSTALL\}?"? node node_modules\/onnxruntime-node\/script\/install/.test(
              i.args,
            ),
        ),
        "the build arg is not passed to onnxruntime-node's install script",
      );
      for (const target of ['api', 'worker']) {
        const runs = modulesStage(target).instructions.filter((i) => i.op === 'RUN');
        assert.ok(
          runs.some((r) => /ONNXRUNTIME_NODE_INSTALL=skip npm ci/.test(r.args)),
          `${target}: the CPU image downloads CUDA binaries`,
        );
      }
      // npm >= 11.16 never runs onnxruntime-node's install script (the CUDA download): package.json denies it.
      assert.equal(JSON.parse(read('package.json')).allowScripts['onnxruntime-node'], false);
      assert.doesNotMatch(read('.npmrc'), /onnxruntime/, 'no unknown npm config key');
      const toolchainCopy = chain(gpuDeps.name)
        .flatMap((s) => s.instructions)
        .find((i) => i.op === 'COPY' && /package-lock/.test(i.args));
      assert.ok(toolchainCopy && /\.npmrc/.test(toolchainCopy.args), 'the dependency stages do not COPY .npmrc');
    });

    it('builds the runpod-worker target on the GPU image: the pinned runpod SDK runs handler.py from dist/', () => {
      const stage = byName.get('runpod-worker');
      assert.ok(stage, 'target runpod-worker is missing');
      assert.equal(stage.base, 'gpu-worker', 'the Runpod worker carries the same engine and node_modules as the fleet');
      const pin = /^RUNPOD_PINS="([^"]+)"$/m.exec(read('scripts/tools.sh'));
      assert.ok(pin, 'scripts/tools.sh pins runpod');
      const install = stage.instructions.find((i) => i.op === 'RUN' && /pip install/.test(i.args));
      assert.ok(install && install.args.includes(pin[1]), `the image installs ${pin[1]}, as the tests do`);
      const argv = JSON.parse(find('runpod-worker', 'CMD')!.args);
      assert.match(argv[0], /python/);
      assert.equal(argv[1], 'dist/gpu-activities/runpodHandler/handler.py');
      assert.ok(exists('gpu-activities/runpodHandler/handler.py') && exists('gpu-activities/runpodHandler/engine.ts'));
      assert.doesNotMatch(find('runpod-worker', 'USER')!.args, /^(root|0)$/);
    });

    it('health-checks the api target and sets only configuration variables as ENV', () => {
      const health = find('api', 'HEALTHCHECK');
      assert.ok(health, 'the api target has no HEALTHCHECK');
      const cmd = /CMD\s+(\[.*\])$/.exec(health.args);
      assert.ok(cmd, 'HEALTHCHECK is not exec-form');
      assert.match(JSON.parse(cmd[1]).join(' '), /\/(healthz|readyz)/);
      for (const s of stages) {
        for (const env of s.instructions.filter((i) => i.op === 'ENV')) {
          for (const [, key] of env.args.matchAll(/(?:^|\s)([A-Z_][A-Z0-9_]*)=/g)) {
            assert.ok(KEYS.has(key), `stage ${s.name}: ENV ${key} is not a configuration variable`);
          }
        }
      }
    });

    it('keeps dependencies, local data and history out of the build context (.dockerignore)', () => {
      const lines = read('.dockerignore')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'));
      for (const entry of ['node_modules', '.tools', '.data', 'out', '.git', 'models', '.env']) {
        assert.ok(lines.includes(entry), `.dockerignore does not exclude ${entry}`);
      }
      for (const needed of ['package.json', 'package-lock.json', '.npmrc', 'tsconfig.json', ...RUNTIME_FOLDERS]) {
        assert.ok(!lines.includes(needed) && !lines.includes(`/${needed}`), `.dockerignore excludes ${needed}`);
      }
    });
  });

  describe('deploy/k8s', () => {
    const DIR = 'deploy/k8s';
    const files = fs.readdirSync(path.join(ROOT, DIR)).filter((f) => /\.ya?ml$/.test(f));
    const docs = files
      .filter((f) => f !== 'kustomization.yaml')
      .flatMap((f) => yamlDocs(`${DIR}/${f}`).map((d): Obj => ({ ...d, file: f })));
    const ofKind = (kind: string) => docs.filter((d) => d.kind === kind);
    const deployments = ofKind('Deployment');
    const workloads = [...deployments, ...ofKind('Job')];
    const configMaps = new Map<string, Obj>(ofKind('ConfigMap').map((c) => [c.metadata.name, c.data ?? {}]));
    const secrets = new Map<string, Obj>(ofKind('Secret').map((s) => [s.metadata.name, { ...s.stringData, ...s.data }]));
    const deployment = (name: string) => deployments.find((d) => d.metadata.name === name)!;
    const config = [...configMaps.values()][0];

    /** The environment a container sees: envFrom ConfigMaps/Secrets, then its own env entries. */
    const containerEnv = (c: Obj): Record<string, string> => {
      const env: Record<string, string> = {};
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef) Object.assign(env, configMaps.get(from.configMapRef.name));
        if (from.secretRef) Object.assign(env, secrets.get(from.secretRef.name));
      }
      for (const e of c.env ?? []) env[e.name] = e.value;
      return env;
    };

    it('lists every manifest in kustomization.yaml, and only existing ones', () => {
      const [kustomization] = yamlDocs(`${DIR}/kustomization.yaml`);
      assert.equal(kustomization.kind, 'Kustomization');
      const resources: string[] = kustomization.resources;
      assert.deepEqual([...resources].sort(), files.filter((f) => f !== 'kustomization.yaml').sort());
      assert.ok(ofKind('Namespace').some((n) => n.metadata.name === kustomization.namespace));
      // Every container image is one the kustomization can retag, pinned to a version.
      const names = new Set(kustomization.images.map((i: Obj) => i.name));
      for (const w of workloads) {
        for (const c of w.spec.template.spec.containers) {
          assertPinned(c.image, `${w.metadata.name}/${c.name}`);
          assert.ok(names.has(c.image.split(':')[0]), `${c.image} is not in kustomization images`);
        }
      }
    });

    it('uses only configuration variables in ConfigMaps, Secrets and container env', () => {
      for (const [name, data] of [...configMaps, ...secrets]) {
        for (const key of Object.keys(data)) assert.ok(KEYS.has(key), `${name}: ${key} is not a configuration variable`);
      }
      for (const w of workloads) {
        for (const c of w.spec.template.spec.containers) {
          for (const e of c.env ?? []) assert.ok(KEYS.has(e.name), `${w.metadata.name}: ${e.name} is not a configuration variable`);
          for (const from of c.envFrom ?? []) {
            if (from.configMapRef) assert.ok(configMaps.has(from.configMapRef.name), `no ConfigMap ${from.configMapRef.name}`);
            if (from.secretRef) assert.ok(secrets.has(from.secretRef.name), `no Secret ${from.secretRef.name}`);
          }
        }
      }
    });

    it('keeps the secrets in a clearly marked Secret template, not in the ConfigMap', () => {
      const [secret] = [...secrets.values()];
      for (const key of ['JWT_SECRET', 'GPU_CALLBACK_SECRET', 'STORAGE_ACCESS_KEY', 'STORAGE_SECRET_KEY', 'DATABASE_URL']) {
        assert.ok(key in secret, `${key} is not in the Secret`);
        assert.match(String(secret[key]), /CHANGE-ME/, `${key} is not a marked placeholder`);
        assert.ok(!(key in config), `${key} is in the ConfigMap`);
      }
    });

    it('gives every workload an environment that passes parseConfig in production once the Secret is filled in', () => {
      // The template's CHANGE-ME secrets are refused as they are, so an unedited template cannot go live.
      const filled = { JWT_SECRET: 'a-real-jwt-secret-0123456789abcdef', GPU_CALLBACK_SECRET: 'a-real-callback-secret-0123456789' };
      for (const w of workloads) {
        for (const c of w.spec.template.spec.containers) {
          const env = containerEnv(c);
          assert.throws(() => parseConfig(env), /JWT_SECRET/, `${w.metadata.name} starts with the placeholder secrets`);
          const parsed = parseConfig({ ...env, ...filled });
          assert.equal(parsed.NODE_ENV, 'production', w.metadata.name);
          assert.match(parsed.DATABASE_URL, /^mysql:/, w.metadata.name);
        }
      }
    });

    it('runs every workload as non-root without privilege escalation', () => {
      for (const w of workloads) {
        const pod = w.spec.template.spec;
        for (const c of pod.containers) {
          const sc = { ...pod.securityContext, ...c.securityContext };
          assert.equal(sc.runAsNonRoot, true, `${w.metadata.name}: runAsNonRoot`);
          assert.ok(Number.isInteger(sc.runAsUser) && sc.runAsUser > 0, `${w.metadata.name}: numeric non-root runAsUser`);
          assert.equal(sc.allowPrivilegeEscalation, false, `${w.metadata.name}: allowPrivilegeEscalation`);
        }
      }
    });

    it('runs the entry points tsc produces, one per Deployment, and migrations as a Job', () => {
      const expected: Record<string, string> = { api: 'api', worker: 'worker', 'cpu-worker': 'cpu-worker', 'gpu-worker': 'gpu-worker' };
      for (const [name, image] of Object.entries(expected)) {
        const d = deployment(name);
        assert.ok(d, `Deployment ${name} is missing`);
        assert.match(d.spec.template.spec.containers[0].image, new RegExp(`/${image}:`), `${name} image`);
        // The image's CMD carries the node flags (the CPU worker's): a command or args here would drop them.
        assert.equal(d.spec.template.spec.containers[0].command, undefined, `${name} overrides the image's CMD`);
        assert.equal(d.spec.template.spec.containers[0].args, undefined, `${name} overrides the image's CMD`);
        assert.deepEqual(
          d.spec.selector.matchLabels,
          Object.fromEntries(Object.entries(d.spec.template.metadata.labels).filter(([k]) => k in d.spec.selector.matchLabels)),
        );
      }
      const [job] = ofKind('Job');
      assert.ok(job, 'the migrate Job is missing');
      const c = job.spec.template.spec.containers[0];
      assertNodeEntry(c.command, 'migrate Job');
      assert.equal(c.command[1], 'dist/entities/migrate.js');
      assert.equal(job.spec.template.spec.restartPolicy, 'Never');
    });

    it('probes the api on /readyz (readiness) and /healthz (liveness) and exposes it through a Service', () => {
      const d = deployment('api');
      const pod = d.spec.template;
      const c = pod.spec.containers[0];
      const port = Number(containerEnv(c).PORT ?? DEFAULTS.PORT);
      const named = (p: string | number) => (typeof p === 'number' ? p : c.ports.find((x: Obj) => x.name === p)?.containerPort);
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.equal(named(c.readinessProbe.httpGet.port), port);
      assert.equal(named(c.livenessProbe.httpGet.port), port);
      const service = ofKind('Service').find((s) => s.metadata.name === 'api');
      assert.ok(service, 'no api Service');
      for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(pod.metadata.labels[k], v, `selector ${k}`);
      assert.equal(named(service.spec.ports[0].targetPort), port);
    });

    it('gives each GPU worker one GPU, the model volume at MODEL_DIR and time to drain on shutdown', () => {
      const d = deployment('gpu-worker');
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      assert.equal(Number(c.resources.limits['nvidia.com/gpu']), 1);
      const env = containerEnv(c);
      const mount = c.volumeMounts.find((m: Obj) => m.mountPath === env.MODEL_DIR);
      assert.ok(mount, `nothing mounted at MODEL_DIR=${env.MODEL_DIR}`);
      assert.equal(mount.readOnly, true);
      const volume = pod.volumes.find((v: Obj) => v.name === mount.name);
      assert.ok(volume.persistentVolumeClaim || volume.hostPath, 'MODEL_DIR is neither a PVC nor a hostPath');
      if (volume.persistentVolumeClaim) {
        const claim = volume.persistentVolumeClaim.claimName;
        assert.ok(
          ofKind('PersistentVolumeClaim').some((p) => p.metadata.name === claim),
          `no PVC ${claim}`,
        );
      }
      assert.ok(pod.terminationGracePeriodSeconds >= 60, 'terminationGracePeriodSeconds too short to drain activities');
      assert.equal(env.ORT_EXECUTION_PROVIDER, 'cuda');
      assert.equal(d.spec.replicas, undefined, 'replicas is owned by the KEDA ScaledObject');
    });

    const FLEETS = [
      { deployment: 'gpu-worker', queueKey: 'GPU_TASK_QUEUE' },
      { deployment: 'cpu-worker', queueKey: 'CPU_TASK_QUEUE' },
    ] as const;
    for (const fleet of FLEETS) {
      it(`scales the ${fleet.deployment} Deployment with KEDA on the backlog of its own task queue (${fleet.queueKey})`, () => {
        const so = ofKind('ScaledObject').find((o) => o.spec.scaleTargetRef.name === fleet.deployment);
        assert.ok(so, `no ScaledObject for ${fleet.deployment}`);
        assert.equal(so.apiVersion, 'keda.sh/v1alpha1');
        const target = deployment(so.spec.scaleTargetRef.name);
        assert.ok(target, `ScaledObject targets unknown Deployment ${so.spec.scaleTargetRef.name}`);
        assert.ok(so.spec.minReplicaCount >= 0 && so.spec.maxReplicaCount >= Math.max(1, so.spec.minReplicaCount));
        assert.ok(Number.isInteger(so.spec.cooldownPeriod));
        assert.equal(target.spec.replicas, undefined, 'replicas is owned by the KEDA ScaledObject');
        const trigger = so.spec.triggers.find((t: Obj) => t.type === 'temporal');
        assert.ok(trigger, 'no temporal trigger');
        const m = trigger.metadata;
        assert.equal(m.taskQueue, DEFAULTS[fleet.queueKey]);
        assert.equal(m.taskQueue, containerEnv(target.spec.template.spec.containers[0])[fleet.queueKey] ?? DEFAULTS[fleet.queueKey]);
        assert.equal(m.endpoint, config.TEMPORAL_ADDRESS);
        assert.match(m.endpoint, /^[^:/]+:\d+$/, 'endpoint is host:port');
        assert.equal(m.namespace, config.TEMPORAL_NAMESPACE);
        assert.equal(m.queueTypes, 'activity');
        // The ScaledObject CRD types trigger metadata as a map of strings.
        for (const [k, v] of Object.entries(m)) assert.equal(typeof v, 'string', `trigger metadata ${k} is not a string`);
        assert.match(m.targetQueueSize, /^\d+$/);
        assert.match(m.activationTargetQueueSize, /^\d+$/);
      });
    }
  });

  describe('deploy/README.md', () => {
    it('documents the compose stack, the model location, kustomize + KEDA, and what was not run', () => {
      const readme = read('deploy/README.md');
      assert.match(readme, /docker compose -f docker-compose\.temporal\.yml up --build/);
      assert.match(readme, /models\/sam3\//);
      assert.match(readme, /kubectl apply -k deploy\/k8s/);
      assert.match(readme, /KEDA/);
      assert.match(readme, /none of this has been run/i);
    });
  });
});
