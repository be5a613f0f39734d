import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ROUTE_DOCS } from '../../api/app';
import { ERROR_STATUS } from '../../api/errors';
import { startApi, type TestApi } from '../support/api';
import { describeEachDatabase } from '../support/databases';

describeEachDatabase('GET /openapi.json and /docs', (db) => {
  let api: TestApi;
  before(async () => {
    api = await startApi(db());
  });
  after(() => api.close());

  it('serves a valid OpenAPI 3.1 document', async () => {
    const doc = (await api.request('GET', '/openapi.json')).body;
    assert.equal(doc.openapi, '3.1.0');
    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
  });

  it('documents every route the app serves, with its error codes and auth', async () => {
    const doc = (await api.request('GET', '/openapi.json')).body;
    for (const r of ROUTE_DOCS) {
      const op = doc.paths[r.path.replace(/:(\w+)/g, '{$1}')]?.[r.method];
      assert.ok(op, `${r.method} ${r.path} documented`);
      const codes = Object.values(op.responses).flatMap((x: any) => Object.keys(x.content?.['application/json']?.examples ?? {}));
      for (const c of r.errors) assert.ok(codes.includes(c), `${c} on ${r.method} ${r.path}`);
      if (r.auth) assert.ok(codes.includes('UNAUTHORIZED'));
      else assert.deepEqual(op.security, []);
    }
    assert.deepEqual(doc.components.schemas.ErrorEnvelope.properties.error.properties.code.enum, Object.keys(ERROR_STATUS));
  });

  it('covers every endpoint and error code of API.md', async () => {
    const doc = (await api.request('GET', '/openapi.json')).body;
    const endpoints = [
      'post /auth/anon',
      'get /me',
      'get /presets',
      'get /presets/{id}',
      'get /rules',
      'post /rules',
      'patch /rules/{id}',
      'delete /rules/{id}',
      'get /rules/{id}',
      'post /jobs',
      'post /jobs/{id}/confirm-upload',
      'post /jobs/{id}/execute',
      'get /jobs/{id}',
      'post /jobs/{id}/cancel',
      'post /jobs/{id}/callback',
      'get /jobs',
      'get /jobs/{id}/events',
      'post /jobs/{id}/variants',
      'get /jobs/{id}/variants/{n}',
      'post /jobs/{id}/variants/{n}/cancel',
      'post /jobs/{id}/exports',
      'get /jobs/{id}/exports/{exportId}',
      'get /healthz',
      'get /readyz',
      'get /metrics',
      'get /openapi.json',
      'get /docs',
    ];
    for (const e of endpoints) {
      const [method, path] = e.split(' ');
      assert.ok(doc.paths[path]?.[method], `${e} in the document`);
    }
    const codes = [
      'VALIDATION_ERROR',
      'INVALID_JSON',
      'UNAUTHORIZED',
      'INSUFFICIENT_CREDITS',
      'FORBIDDEN',
      'NOT_FOUND',
      'INVALID_STATE',
      'UPLOAD_INCOMPLETE',
      'IDEMPOTENCY_KEY_REUSED',
      'RULE_SLOTS_EXHAUSTED',
      'VARIANT_LIMIT_REACHED',
      'PAYLOAD_TOO_LARGE',
      'TOO_MANY_ACTIVE_JOBS',
      'RATE_LIMITED',
      'INTERNAL',
      'UNAVAILABLE',
    ];
    const documented = doc.components.schemas.ErrorEnvelope.properties.error.properties.code.enum;
    for (const c of codes) assert.ok(documented.includes(c), c);
    const used = new Set(
      Object.values(doc.paths).flatMap((item: any) =>
        Object.values(item).flatMap((op: any) =>
          Object.values(op.responses).flatMap((r: any) => Object.keys(r.content?.['application/json']?.examples ?? {})),
        ),
      ),
    );
    for (const c of codes.filter((c) => c !== 'FORBIDDEN')) assert.ok(used.has(c), `${c} is answered by some route`);
  });

  it("generates request schemas from the validator's: strict bodies, enums and bounds", async () => {
    const doc = (await api.request('GET', '/openapi.json')).body;
    const schema = doc.paths['/rules'].post.requestBody.content['application/json'].schema;
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.required.sort(), ['concepts', 'name', 'params', 'preset_id']);
    assert.equal(schema.properties.params.properties.feather_px.maximum, 32);
  });

  it('documents the variant and export bodies, views and the lossy tolerance of protected_changed_px', async () => {
    const doc = (await api.request('GET', '/openapi.json')).body;
    const variant = doc.paths['/jobs/{id}/variants'].post;
    const body = variant.requestBody.content['application/json'].schema;
    assert.deepEqual(body.properties.output_format.enum, ['png', 'jpeg', 'webp']);
    assert.equal(body.additionalProperties, false);
    assert.ok(variant.parameters.some((p: any) => p.name === 'Idempotency-Key' && p.in === 'header'));
    const view = variant.responses['202'].content['application/json'].schema.properties.data;
    for (const f of [
      'n',
      'job_id',
      'status',
      'rule',
      'output_format',
      'progress',
      'credits',
      'items',
      'set_checks',
      'created_at',
      'finished_at',
    ])
      assert.ok(view.properties[f], `VariantView.${f}`);
    assert.match(JSON.stringify(view.properties.items), /3 levels/);
    const exp = doc.paths['/jobs/{id}/exports'].post;
    const eb = exp.requestBody.content['application/json'].schema;
    assert.deepEqual(eb.properties.template.enum, ['zip', 'grid', 'before_after', 'compare']);
    assert.deepEqual(Object.keys(eb.properties.options.properties).sort(), [
      'background',
      'columns',
      'include_masks',
      'labels',
      'max_side',
    ]);
    assert.ok(exp.responses['429'] && exp.responses['409'] && exp.responses['404']);
    const ev = doc.paths['/jobs/{id}/exports/{exportId}'].get.responses['200'].content['application/json'].schema.properties.data;
    assert.ok(ev.properties.download_url && ev.properties.expires_at && ev.properties.bytes);
    const job = doc.paths['/jobs/{id}'].get.responses['200'].content['application/json'].schema.properties.data;
    assert.ok(job.properties.variants && job.properties.set_checks);
    // JobView.exports: the ExportView fields a list needs, bounded and documented as such.
    assert.ok(job.required.includes('exports'));
    const listed = job.properties.exports;
    assert.match(listed.description, /last 20 exports, newest first/);
    assert.deepEqual(Object.keys(listed.items.properties).sort(), ['created_at', 'expires_at', 'id', 'status', 'template', 'variant']);
    for (const f of ['template', 'status']) assert.deepEqual(listed.items.properties[f].enum, ev.properties[f].enum, f);
    assert.match(eb.properties.options.properties.max_side.description, /400 VALIDATION_ERROR on options\.max_side/);
  });

  it('renders the docs page with Swagger UI assets served locally', async () => {
    const page = await fetch(`${api.url}/docs`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /swagger-ui-bundle\.js/);
    assert.doesNotMatch(html, /https?:\/\//, 'no CDN');
    const js = await fetch(`${api.url}/docs/assets/swagger-ui-bundle.js`);
    assert.equal(js.status, 200);
    assert.ok((await js.arrayBuffer()).byteLength > 100_000);
    assert.equal((await fetch(`${api.url}/docs/assets/../../package.json`)).status, 404);
  });
});
