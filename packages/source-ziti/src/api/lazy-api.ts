/**
 * The HTTP API's entry points, each loading the API's modules (fastify, its zod type provider, the
 * routes) at its first call. The source's own modules stay without them, so a config naming a ziti
 * source is validated without loading fastify (`bpfsteer validate`; `bpfsteer run` before it
 * starts the plugins' threads): the agent starts its plugin threads ~100 ms sooner (measured on the
 * project's 2-vCPU machine) and loads fastify while they start.
 */
import type { FastifyInstance } from 'fastify';
import type { OpenAPIV3 } from 'openapi-types';
import type { CreateApiOptions } from './create-api.js';

/** The HTTP API as a fastify instance, not listening yet (create-api.ts). */
export async function createApi(options: CreateApiOptions): Promise<FastifyInstance> {
  return (await import('./create-api.js')).createApi(options);
}

/** The OpenAPI 3 document of the API, generated from the route schemas (openapi-document.ts). */
export async function buildOpenApiDocument(): Promise<OpenAPIV3.Document> {
  return (await import('./openapi-document.js')).buildOpenApiDocument();
}

/** The document as the text of packages/source-ziti/openapi.json (openapi-document.ts). */
export async function openApiText(): Promise<string> {
  return (await import('./openapi-document.js')).openApiText();
}
