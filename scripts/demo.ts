/**
 * `npm run demo`: the whole product on this machine with no configuration. Provisions and starts the embedded stack
 * (or uses a running `npm run dev`), then plays the mobile app's flow through the public API only — anonymous
 * sign-in, presets, presigned uploads, confirm, execute, live SSE progress — for an interior and a seller set; then two
 * variants of the interior set in other wall colours (on its stored masks) and the exports the app would hand a client
 * (a compare sheet and zips with results, masks and manifest, a before/after sheet of the seller set), downloaded to
 * ./out/. Exits 0 only when every item of every job and variant is as expected.
 */
import 'dotenv/config';
import 'reflect-metadata';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import pino from 'pino';
import { parseConfig } from '../domain/config';
import { openDatabase } from '../entities/dataSource';
import { createClient, progressBoard } from './demo/client';
import { exportTo, runVariants } from './demo/compareExport';
import { encodeScene, interiorScene, sellerScene } from './demo/scenes';
import { ensureModelFixture } from './model-fixture/generate';
import { startStack } from './stack';
import { startSystem } from './stack/system';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The demo's own output is the progress board; the in-process workers only speak up for warnings.
Runtime.install({ logger: new DefaultLogger('WARN') });
const OUT = 'out';
const DATA = join('.data', 'demo');

/** One set the demo produces, and what every item of it must show. */
interface DemoSet {
  name: string;
  preset: string;
  images: Buffer[];
  execute: (palette: Record<string, string>) => Record<string, unknown>;
  expect: (item: any) => string | null;
  /** Other wall colours (palette ids) rendered as variants of the done set. */
  variants?: string[];
  /** The exports downloaded to out/: file name -> request body. */
  exports: Record<string, Record<string, unknown>>;
}

const SETS: DemoSet[] = [
  {
    name: 'interior',
    preset: 'interior',
    images: [],
    execute: (palette) => ({
      concepts: ['wall', 'floor'],
      protect: ['person', 'window'],
      params: {
        operations: [
          { concept: 'wall', op: 'recolor', color: palette.sage },
          { concept: 'floor', op: 'recolor', color: palette.walnut },
        ],
        feather_px: 0,
      },
    }),
    expect: (item) =>
      item.checks.coverage.wall < 0.2
        ? `wall covers only ${item.checks.coverage.wall}`
        : item.checks.coverage.floor < 0.1
          ? `floor covers only ${item.checks.coverage.floor}`
          : item.checks.delta_e_to_target.wall > 3
            ? `wall ΔE ${item.checks.delta_e_to_target.wall} > 3`
            : item.checks.delta_e_to_target.floor > 3
              ? `floor ΔE ${item.checks.delta_e_to_target.floor} > 3`
              : item.checks.protected_changed_px !== 0
                ? `${item.checks.protected_changed_px} protected pixels changed`
                : null,
    variants: ['terracotta', 'navy'],
    exports: {
      'interior_compare.png': { template: 'compare', format: 'png', options: { max_side: 2400 } },
      'interior.zip': { template: 'zip', options: { include_masks: true } },
    },
  },
  {
    name: 'seller',
    preset: 'seller',
    images: [],
    execute: () => ({
      concepts: ['background'],
      protect: ['product'],
      params: { operations: [{ concept: 'background', op: 'replace', color: '#FFFFFF' }] },
    }),
    expect: (item) =>
      item.checks.coverage.background < 0.3
        ? `background covers only ${item.checks.coverage.background}`
        : item.checks.coverage.product < 0.02
          ? 'no product found'
          : item.checks.protected_changed_px !== 0
            ? `${item.checks.protected_changed_px} protected pixels changed`
            : null,
    exports: {
      'seller_before_after.jpg': { template: 'before_after', format: 'jpeg', options: { max_side: 2000 } },
      'seller.zip': { template: 'zip', options: { include_masks: true } },
    },
  },
];

/** A variant item's problem: the recolored wall must hit the variant's colour like the job's did. */
function variantProblem(item: any): string | null {
  if (item.status !== 'done') return `${item.status}${item.error ? ` (${item.error.code})` : ''}`;
  if (item.checks.delta_e_to_target.wall > 3) return `wall ΔE ${item.checks.delta_e_to_target.wall} > 3`;
  return item.checks.protected_changed_px !== 0 ? `${item.checks.protected_changed_px} protected pixels changed` : null;
}

async function reachable(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1500) })).ok;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  let config = parseConfig(process.env);
  const cleanup: (() => Promise<unknown>)[] = [];
  let baseUrl = `http://127.0.0.1:${config.PORT}`;
  try {
    if (await reachable(`${baseUrl}/readyz`)) {
      console.log(`using the stack of a running \`npm run dev\` at ${baseUrl}`);
    } else {
      console.log('starting the embedded stack (Temporal dev server, SeaweedFS, SQLite, API, workers)…');
      if (ensureModelFixture(config.MODEL_DIR)) console.log(`generated the contract-fixture model in ${config.MODEL_DIR}`);
      const stack = await startStack(config, { dataDir: DATA, log: () => undefined });
      cleanup.push(() => stack.stop());
      config = parseConfig({ ...process.env, ...stack.env, DATABASE_URL: `sqlite:${join(DATA, 's3.sqlite')}` });
      const ds = await openDatabase(config.DATABASE_URL);
      cleanup.push(() => ds.destroy());
      const system = await startSystem(config, ds, { log: pino({ level: 'warn' }) });
      cleanup.unshift(() => system.close());
      baseUrl = system.url;
      console.log(`  API ${baseUrl} · Temporal ${stack.temporal.address} (UI ${stack.temporal.uiUrl ?? 'off'}) · S3 ${stack.s3.endpoint}`);
    }
    return await play(baseUrl, started);
  } finally {
    for (const fn of cleanup) await fn().catch((err) => console.error('cleanup:', err));
  }
}

async function play(baseUrl: string, started: number): Promise<number> {
  const api = createClient(baseUrl);
  const signUp = await api.call('POST', '/auth/anon', {});
  api.setToken(signUp.token);
  console.log(`signed in anonymously as ${signUp.user.id} (${signUp.user.credits.available} credits)`);
  SETS[0].images = await Promise.all(Array.from({ length: 6 }, (_, i) => encodeScene(interiorScene(i), 'jpeg')));
  SETS[1].images = await Promise.all(Array.from({ length: 4 }, (_, i) => encodeScene(sellerScene(i), 'jpeg')));

  const board = progressBoard(SETS.map((s) => s.name));
  board.start();
  const jobs = await Promise.all(
    SETS.map(async (set) => {
      const preset = await api.call('GET', `/presets/${set.preset}`);
      const palette = Object.fromEntries(preset.palette.map((p: { id: string; hex: string }) => [p.id, p.hex]));
      const created = await api.call(
        'POST',
        '/jobs',
        // Each input's size is declared up front: the store refuses an upload of any other size.
        { preset_id: set.preset, item_count: set.images.length, content_type: 'image/jpeg', sizes: set.images.map((b) => b.length) },
        { 'Idempotency-Key': `demo-${set.name}-${started}` },
      );
      await Promise.all(
        created.uploads.map(async (u: { idx: number; url: string; headers: Record<string, string> }) => {
          const res = await fetch(u.url, { method: 'PUT', headers: u.headers, body: set.images[u.idx] });
          if (!res.ok) throw new Error(`upload ${set.name}/${u.idx}: HTTP ${res.status}`);
        }),
      );
      await api.call('POST', `/jobs/${created.job.id}/confirm-upload`);
      const ended = api.follow(created.job.id, (s) => board.update(set.name, s));
      await api.call('POST', `/jobs/${created.job.id}/execute`, set.execute(palette));
      return { set, palette, view: await ended };
    }),
  );

  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const problems: string[] = [];
  const variants: { set: string; color: string; view: any }[] = [];
  const exported: string[] = [];
  for (const { set, palette, view } of jobs) {
    for (const item of view.items) {
      const problem =
        item.status === 'done' ? set.expect(item) : `${item.status}${item.error ? ` (${item.error.code}: ${item.error.message})` : ''}`;
      if (problem) problems.push(`${set.name} #${item.idx}: ${problem}`);
    }
    if (view.status !== 'done') continue;
    if (set.variants) {
      // Same concepts, same masks, another wall colour: the floor keeps the job's operation.
      const job = set.execute(palette) as { params: { operations: { concept: string }[] } };
      const rules = set.variants.map((id) => ({
        ...job.params,
        operations: job.params.operations.map((op) => (op.concept === 'wall' ? { ...op, color: palette[id] } : op)),
      }));
      const views = await runVariants(api, view.id, rules, `demo-${set.name}-${started}`);
      views.forEach((v, i) => {
        variants.push({ set: set.name, color: set.variants![i], view: v });
        for (const item of v.items) {
          const problem = variantProblem(item);
          if (problem) problems.push(`${set.name} v${v.n} #${item.idx}: ${problem}`);
        }
      });
    }
    for (const [file, body] of Object.entries(set.exports)) {
      await exportTo(api, view.id, body, join(OUT, file));
      exported.push(file);
    }
  }

  const me = await api.call('GET', '/me');
  const summary = {
    seconds: Math.round((Date.now() - started) / 100) / 10,
    jobs: jobs.map(({ set, view }) => ({
      name: set.name,
      id: view.id,
      status: view.status,
      items: view.progress.total,
      done: view.progress.done,
      failed: view.progress.failed,
      credits: view.credits,
      set_checks: view.set_checks,
    })),
    variants: variants.map(({ set, color, view }) => ({
      set,
      n: view.n,
      color,
      status: view.status,
      done: view.progress.done,
      credits: view.credits,
      set_checks: view.set_checks,
    })),
    exports: exported,
    credits_used: signUp.user.credits.balance - me.credits.balance,
    credits_left: me.credits.available,
    problems,
  };
  writeFileSync(join(OUT, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  console.log('');
  const consistency = (checks: Record<string, { items: number; max_delta_e: number; mean_lab: number[] }>) =>
    Object.entries(checks)
      .map(([c, x]) => `${c} max ΔE00 ${x.max_delta_e} over ${x.items} (Lab ${x.mean_lab.join('/')})`)
      .join(', ') || 'no recolored concept';
  for (const j of summary.jobs)
    console.log(
      `${j.name.padEnd(9)} ${j.status}: ${j.done}/${j.items} items, ${j.credits.charged} credits charged; set: ${consistency(j.set_checks)}`,
    );
  for (const v of summary.variants)
    console.log(
      `${`${v.set} v${v.n}`.padEnd(12)} ${v.color} ${v.status}: ${v.done} items, credits reserved ${v.credits.reserved} / charged ${v.credits.charged} / refunded ${v.credits.refunded}; set: ${consistency(v.set_checks)}`,
    );
  console.log(`exports in out/: ${exported.join(', ')}`);
  console.log(
    `${summary.jobs.reduce((a, j) => a + j.items, 0)} items in ${summary.seconds} s, ${summary.credits_used} credits used, ${summary.credits_left} left`,
  );
  if (problems.length) {
    console.error(`\n${problems.length} item(s) not as expected:\n  ${problems.join('\n  ')}`);
    return 1;
  }
  console.log('every item is as expected');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error('demo failed:', err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
