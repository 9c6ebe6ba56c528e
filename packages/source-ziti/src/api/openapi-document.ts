/** The OpenAPI 3 document of the API, generated from the route schemas (no socket involved). */
import type { OpenAPIV3 } from 'openapi-types';
import { emptyState } from '../rule-store.js';
import { ZitiService } from '../ziti-service.js';
import { createApi } from './create-api.js';

export async function buildOpenApiDocument(): Promise<OpenAPIV3.Document> {
  const quiet = { warn: () => undefined, error: () => undefined };
  const service = new ZitiService({
    sink: { commitChange: async () => ({ ok: false, reason: 'unavailable', error: 'documentation only' }) },
    context: { describe: async () => undefined, watch: () => () => undefined, consumers: () => [] },
    logger: quiet,
    initial: emptyState,
  });
  const app = await createApi({ service, openApi: true });
  try {
    await app.ready();
    return app.swagger() as OpenAPIV3.Document;
  } finally {
    await app.close();
  }
}

let built: Promise<OpenAPIV3.Document> | undefined;

/** The document, built once (GET /v1/openapi.json of every API instance serves it); built again after a failure. */
export function openApiDocument(): Promise<OpenAPIV3.Document> {
  built ??= buildOpenApiDocument().catch((err: unknown) => {
    built = undefined;
    throw err;
  });
  return built;
}

/** The document as the text of packages/source-ziti/openapi.json. */
export async function openApiText(): Promise<string> {
  return `${JSON.stringify(await buildOpenApiDocument(), null, 2)}\n`;
}
