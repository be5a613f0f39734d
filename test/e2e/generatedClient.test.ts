import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { encodeScene, interiorScene } from '../../scripts/demo/scenes';
import { createTestDatabase } from '../support/databases';
import { startTestSystem, type TestSystem } from '../support/stack';

describe('OpenAPI document → generated TypeScript client', function () {
  this.timeout(180_000);
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let system: TestSystem;
  let dir: string;
  before(async () => {
    db = await createTestDatabase('sqlite');
    system = await startTestSystem(db);
    // Inside the repo so the generated code resolves openapi-fetch from node_modules; removed after.
    dir = mkdtempSync(join(__dirname, 'generated-client', 'tmp-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await system?.close();
    await db?.drop();
  });

  it('generates types that type-check a happy path, which then runs against the server', async () => {
    const doc = (await system.api.request('GET', '/openapi.json')).body;
    const schema = astToString(await openapiTS(doc));
    assert.match(schema, /"\/jobs\/\{id\}\/confirm-upload"/);
    writeFileSync(join(dir, 'schema.d.ts'), schema);
    copyFileSync(join(__dirname, 'generated-client', 'happyPath.ts'), join(dir, 'happyPath.ts'));

    const program = ts.createProgram([join(dir, 'happyPath.ts')], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      esModuleInterop: true,
      skipLibCheck: true,
      types: ['node'],
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    assert.deepEqual(diagnostics, [], 'the happy path type-checks against the generated client');

    const { happyPath } = require(join(dir, 'happyPath.ts')) as typeof import('./generated-client/happyPath');
    const images = await Promise.all([0, 1].map(async (i) => new Blob([await encodeScene(interiorScene(i), 'png')])));
    const { view, variant, exported } = await happyPath(system.api.url, images);
    assert.equal(view.status, 'done');
    assert.equal(view.progress.done, 2);
    assert.ok(view.items.every((i: any) => i.status === 'done' && i.result_url));
    assert.equal(variant.status, 'done');
    assert.equal(variant.output_format, 'webp');
    assert.ok(variant.items.every((i: any) => i.status === 'done' && new URL(i.result_url!).pathname.endsWith('_result.webp')));
    assert.equal(exported.status, 'done');
    const sheet = await fetch(exported.download_url!);
    assert.equal(sheet.headers.get('content-type'), 'image/png');
  });
});
