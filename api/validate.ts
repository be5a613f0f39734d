/** Strict request validation with zod: every problem becomes one VALIDATION_ERROR that names the fields. */
import type { Context } from 'koa';
import { z } from 'zod';
import { ApiError } from './errors';

/** Turns zod issues into the `details` of a VALIDATION_ERROR. */
export function validationError(
  issues: readonly { path: readonly PropertyKey[]; message: string; code?: string; keys?: string[] }[],
  where = 'body',
): ApiError {
  const list = issues.flatMap((i) =>
    i.code === 'unrecognized_keys' && i.keys
      ? i.keys.map((k) => ({ field: [...i.path, k].map(String).join('.'), message: 'unknown field' }))
      : [{ field: i.path.map(String).join('.') || '(root)', message: i.message }],
  );
  const summary = list.map((i) => `${i.field}: ${i.message}`).join('; ');
  return new ApiError('VALIDATION_ERROR', `invalid ${where}: ${summary}`, { issues: list, fields: list.map((i) => i.field) });
}

/** Parses `value` with `schema` or throws a VALIDATION_ERROR. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, where = 'body'): z.output<S> {
  const res = schema.safeParse(value);
  if (!res.success) throw validationError(res.error.issues as never, where);
  return res.data;
}

/** The request body parsed by `schema` (a missing body is validated as `{}`; malformed JSON is INVALID_JSON). */
export function body<S extends z.ZodType>(ctx: Context, schema: S): z.output<S> {
  const malformed = (ctx.request as { bodyError?: Error }).bodyError;
  if (malformed) throw malformed;
  return parseOrThrow(schema, (ctx.request as { body?: unknown }).body ?? {}, 'body');
}

/** The query string parsed by `schema`. */
export function query<S extends z.ZodType>(ctx: Context, schema: S): z.output<S> {
  return parseOrThrow(schema, ctx.query, 'query');
}
