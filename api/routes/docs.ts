import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Router from '@koa/router';
import { getAbsoluteFSPath } from 'swagger-ui-dist';
import type { RequestState } from '../middleware/envelope';
import type { RouteDoc } from '../openapi';

// Served from the swagger-ui-dist npm package: the docs page works offline and loads nothing from a CDN.
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>S3 palette engine API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"><link rel="icon" href="/docs/assets/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: true });`;

/** `GET /openapi.json` (the generated document) and `GET /docs` (Swagger UI rendering it). */
export function createDocsRouter(deps: { document: () => Record<string, unknown> }): Router<RequestState> {
  const router = new Router<RequestState>();
  const dir = getAbsoluteFSPath();
  router.get('/openapi.json', (ctx) => {
    ctx.state.raw = true; // the document itself, not wrapped in the envelope: tools read it as is
    ctx.body = deps.document();
  });
  router.get('/docs', (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = PAGE;
  });
  router.get('/docs/init.js', (ctx) => {
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.body = INIT;
  });
  router.get('/docs/assets/:file', async (ctx) => {
    if (!Object.hasOwn(ASSETS, ctx.params.file)) return; // falls through to the 404 envelope
    const type = ASSETS[ctx.params.file];
    ctx.type = type;
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = await readFile(join(dir, ctx.params.file));
  });
  return router;
}

/** OpenAPI description of this router. */
export const docsDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/openapi.json',
    tag: 'ops',
    summary: 'This OpenAPI 3.1 document (not enveloped)',
    auth: false,
    response: { status: 200, mediaType: 'application/json' },
    errors: [],
  },
  {
    method: 'get',
    path: '/docs',
    tag: 'ops',
    summary: 'Interactive API docs',
    auth: false,
    response: { status: 200, mediaType: 'text/html' },
    errors: [],
  },
];
