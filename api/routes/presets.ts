import Router from '@koa/router';
import { findPreset, PRESETS } from '../../domain/presets';
import { notFound } from '../errors';
import { z } from 'zod';
import type { RequestState } from '../middleware/envelope';
import type { RouteDoc } from '../openapi';
import { PresetSummary, PresetView } from '../schemas';

/** `GET /presets` and `GET /presets/{id}`: the domain palettes (public). */
export function createPresetsRouter(): Router<RequestState> {
  const router = new Router<RequestState>();
  router.get('/presets', (ctx) => {
    ctx.body = PRESETS.map((p) => ({ id: p.id, name: p.name, concept_count: p.concepts.length, protect_count: p.protect.length }));
  });
  router.get('/presets/:id', (ctx) => {
    const preset = findPreset(ctx.params.id);
    if (!preset) throw notFound(`preset '${ctx.params.id}'`);
    ctx.body = preset;
  });
  return router;
}

/** OpenAPI description of this router. */
export const presetsDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/presets',
    tag: 'presets',
    summary: 'Domain palettes',
    auth: false,
    response: { status: 200, data: z.array(PresetSummary) },
    errors: [],
  },
  {
    method: 'get',
    path: '/presets/:id',
    tag: 'presets',
    summary: 'One palette in full',
    auth: false,
    response: { status: 200, data: PresetView },
    errors: ['NOT_FOUND'],
  },
];
