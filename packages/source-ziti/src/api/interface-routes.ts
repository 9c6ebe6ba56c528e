/** The per-interface settings endpoints. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ZitiService } from '../ziti-service.js';
import { errorSchema, interfaceListSchema, interfaceParamsSchema, interfaceResultSchema, interfaceSettingsSchema } from './schemas.js';

const refusals = { 400: errorSchema, 401: errorSchema, 413: errorSchema, 415: errorSchema, 422: errorSchema, 500: errorSchema, 503: errorSchema };

export function registerInterfaceRoutes(app: FastifyInstance, service: ZitiService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/interfaces', {
    schema: {
      summary: 'The interfaces: settings stored by this source and what the plugin applies, with counters',
      tags: ['interfaces'],
      response: { 200: interfaceListSchema, ...refusals },
    },
    handler: async () => ({ interfaces: await service.listInterfaces() }),
  });

  r.put('/v1/interfaces/:name', {
    schema: {
      summary: 'Set settings of one attached interface (fields absent keep their current value)',
      tags: ['interfaces'],
      params: interfaceParamsSchema,
      body: interfaceSettingsSchema,
      response: { 200: interfaceResultSchema, ...refusals },
    },
    handler: async (request) => service.setInterface(request.params.name, request.body),
  });
}
