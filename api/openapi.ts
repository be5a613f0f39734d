/**
 * The OpenAPI 3.1 document, generated from the zod schemas the validator uses (zod's own JSON Schema output is
 * draft 2020-12, which is OpenAPI 3.1's dialect). Each router declares its routes as `RouteDoc`s next to its code.
 */
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from './errors';

/** How one route is documented. */
export interface RouteDoc {
  method: 'get' | 'post' | 'patch' | 'delete' | 'put';
  /** Koa path syntax (`/rules/:id`); converted to OpenAPI's `{id}`. */
  path: string;
  summary: string;
  tag: string;
  auth: boolean;
  body?: z.ZodType;
  query?: z.ZodType;
  headers?: Record<string, { description: string; required?: boolean; schema: z.ZodType }>;
  /** Success status and data schema (wrapped in the envelope); a string media type for non-JSON answers. */
  response: { status: number; data?: z.ZodType; mediaType?: string; description?: string };
  errors: ErrorCode[];
}

const json = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

function envelopeOf(data: Record<string, unknown>) {
  return {
    type: 'object',
    required: ['success', 'data', 'error', 'meta'],
    properties: { success: { const: true }, data, error: { type: 'null' }, meta: { $ref: '#/components/schemas/Meta' } },
  };
}

/** Builds the whole document from the routers' `RouteDoc`s. */
export function buildOpenApi(routes: RouteDoc[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    const params = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const queryProps = r.query ? ((json(r.query, 'input').properties as Record<string, unknown>) ?? {}) : {};
    const queryParams = Object.entries(queryProps).map(([name, schema]) => ({ name, in: 'query', required: false, schema }));
    const headerParams = Object.entries(r.headers ?? {}).map(([name, h]) => ({
      name,
      in: 'header',
      required: h.required ?? false,
      description: h.description,
      schema: json(h.schema, 'input'),
    }));
    const responses: Record<string, unknown> = {};
    const ok = r.response;
    responses[String(ok.status)] = {
      description: ok.description ?? 'success',
      content: ok.mediaType
        ? { [ok.mediaType]: { schema: { type: 'string' } } }
        : { 'application/json': { schema: envelopeOf(ok.data ? json(ok.data, 'output') : {}) } },
    };
    const errors = [...new Set([...r.errors, ...(r.auth ? (['UNAUTHORIZED'] as ErrorCode[]) : []), 'INTERNAL' as ErrorCode])];
    for (const [status, codes] of groupByStatus(errors)) {
      responses[status] = {
        description: `error: ${codes.join(', ')}`,
        content: {
          'application/json': {
            schema: { $ref: '#/components/schemas/ErrorEnvelope' },
            examples: Object.fromEntries(
              codes.map((c) => [
                c,
                { value: { success: false, data: null, error: { code: c, message: '…', details: {} }, meta: { request_id: '…' } } },
              ]),
            ),
          },
        },
      };
    }
    paths[path] ??= {};
    paths[path][r.method] = {
      operationId: operationId(r),
      summary: r.summary,
      tags: [r.tag],
      ...(r.auth ? {} : { security: [] }),
      parameters: [...params, ...queryParams, ...headerParams],
      ...(r.body ? { requestBody: { required: false, content: { 'application/json': { schema: json(r.body, 'input') } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'S3 palette engine API',
      version,
      description: 'REST contract of the S3 palette engine (see API.md). Every response is an envelope.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Meta: { type: 'object', required: ['request_id'], properties: { request_id: { type: 'string' } } },
        ErrorEnvelope: {
          type: 'object',
          required: ['success', 'data', 'error', 'meta'],
          properties: {
            success: { const: false },
            data: { type: 'null' },
            error: {
              type: 'object',
              required: ['code', 'message', 'details'],
              properties: {
                code: { type: 'string', enum: Object.keys(ERROR_STATUS) },
                message: { type: 'string' },
                details: { type: 'object' },
              },
            },
            meta: { $ref: '#/components/schemas/Meta' },
          },
        },
      },
    },
  };
}

function groupByStatus(codes: ErrorCode[]): [string, ErrorCode[]][] {
  const by = new Map<string, ErrorCode[]>();
  for (const c of codes) by.set(String(ERROR_STATUS[c]), [...(by.get(String(ERROR_STATUS[c])) ?? []), c]);
  return [...by.entries()].sort();
}

function operationId(r: RouteDoc): string {
  const words = r.path
    .split('/')
    .filter(Boolean)
    .map((s) => (s.startsWith(':') ? 'By' + cap(s.slice(1)) : cap(s.replace(/[^a-zA-Z]+(.)/g, (_, c: string) => c.toUpperCase()))));
  return r.method + words.join('');
}
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
