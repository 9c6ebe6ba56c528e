/** Version, health, the OpenAPI document and the event stream. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { tproxyEventSchema } from '@bpfsteer/contract-tproxy';
import { packageInfo } from '../version.js';
import { eventLine, slowReaderWriter } from './event-stream.js';
import type { ZitiService } from '../ziti-service.js';
import { errorSchema, healthSchema, versionSchema } from './schemas.js';


const eventSchema = tproxyEventSchema.meta({ description: 'one event per line (NDJSON); a line {"lost": n} tells that n events were dropped for a slow reader' });


/** `closing`: aborted when the API closes (the event streams end then). */
export function registerMetaRoutes(app: FastifyInstance, service: ZitiService, closing: AbortSignal): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/version', {
    schema: { summary: 'Name and version of the source; the API version', tags: ['meta'], response: { 200: versionSchema, 401: errorSchema } },
    handler: async () => {
      const { name, version } = packageInfo();
      return { name, version, api: 'v1' as const };
    },
  });

  r.get('/v1/health', {
    schema: {
      summary: 'Whether the source serves: a running plugin consumes the rules and the stored rules are applied (503 when not); a refused request does not change it',
      tags: ['meta'],
      response: { 200: healthSchema, 401: errorSchema, 503: healthSchema },
    },
    handler: async (_request, reply) => {
      const health = await service.health();
      return reply.code(health.ok ? 200 : 503).send(health);
    },
  });

  r.get('/v1/openapi.json', {
    schema: { summary: 'This document', tags: ['meta'], hide: true },
    // loaded at the first request: this API does not carry @fastify/swagger (see CreateApiOptions.openApi)
    handler: async () => (await import('./openapi-document.js')).openApiDocument(),
  });

  r.get('/v1/events', {
    schema: {
      summary: 'Stream the datapath events (drops, diverts) as NDJSON until the client disconnects',
      tags: ['meta'],
      response: {
        200: { description: 'NDJSON stream', content: { 'application/x-ndjson': { schema: eventSchema } } },
        401: errorSchema,
      },
    },
    handler: (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
      res.flushHeaders();
      const write = slowReaderWriter(res, (lost) => `{"lost":${lost}}\n`);
      const stop = service.watchEvents((event) => {
        const line = eventLine(event);
        if (line) write(line);
      });
      const end = (): void => void res.end();
      closing.addEventListener('abort', end, { once: true });
      res.on('close', () => {
        stop();
        closing.removeEventListener('abort', end);
      });
      request.log.debug('event stream opened');
    },
  });
}
