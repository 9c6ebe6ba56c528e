/**
 * The serializer of the API's responses. zod's serializer validates every answer against its
 * schema before JSON.stringify: ~0.05-0.2 ms of a single insert's ~1 ms on the main thread. The
 * answers of the hot routes (insert, delete, batch, flush, health) and every error body are built
 * by this source from checked values, with the keys in their schema's order (ruleView, toBody,
 * ZitiService), so they are stringified as they are; the schemas still document the routes.
 * Every other response keeps zod's serializer. test/response-serializer.test.ts checks that each
 * trusted body is the text zod's serializer makes of it.
 */
import type { FastifySerializerCompiler } from 'fastify';
import type { ZodType } from 'zod';
import { batchResultSchema, deleteResultSchema, errorSchema, flushResultSchema, healthSchema, insertResultSchema } from './schemas.js';

/** The response schemas whose bodies this source builds in the schema's shape and key order. */
export const trustedResponseSchemas: ReadonlySet<ZodType> = new Set<ZodType>([
  insertResultSchema,
  deleteResultSchema,
  batchResultSchema,
  flushResultSchema,
  healthSchema,
  errorSchema,
]);

const stringify = (data: unknown): string => JSON.stringify(data);

/** Wraps a fastify serializer compiler (the zod type provider's): trusted schemas get JSON.stringify alone. */
export function withTrustedResponses(fallback: FastifySerializerCompiler<ZodType>): FastifySerializerCompiler<ZodType> {
  return (route) => (trustedResponseSchemas.has(route.schema) ? stringify : fallback(route));
}
