/**
 * What the source loads, and when. The agent imports the source to validate its config before it
 * starts its plugins' threads, and creates the API before the API can answer: each module loaded
 * there delays both (api/lazy-api.ts, CreateApiOptions.openApi). Checked on the CommonJS packages,
 * which node's module cache lists once loaded.
 */
import { createRequire } from 'node:module';
import { expect, test } from 'vitest';

const loaded = (pkg: string): boolean => Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes(`/node_modules/${pkg}/`));

test('the source loads fastify only for its API, and the API loads neither ajv nor swagger until its document is asked for', async () => {
  const { createApi, emptyState, ZitiService } = await import('../src/index.js');
  expect(loaded('fastify')).toBe(false);

  const service = new ZitiService({
    sink: { commitChange: async () => ({ ok: false, reason: 'unavailable', error: 'test' }) },
    context: { describe: async () => undefined, watch: () => () => undefined, consumers: () => [] },
    logger: { warn: () => undefined, error: () => undefined },
    initial: emptyState,
  });
  const app = await createApi({ service });
  try {
    expect(loaded('fastify')).toBe(true);
    expect(loaded('ajv')).toBe(false);
    expect(loaded('@fastify/swagger')).toBe(false);

    const res = await app.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.json().openapi).toBe('3.0.3');
    expect(loaded('@fastify/swagger')).toBe(true);
  } finally {
    await app.close();
  }
});
