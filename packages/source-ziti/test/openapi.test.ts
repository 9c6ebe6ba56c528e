import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { openApiText } from '../src/api/openapi-document.js';

test('openapi.json is the document generated from the route schemas (run `npm run openapi` after changing them)', async () => {
  const committed = await readFile(new URL('../openapi.json', import.meta.url), 'utf8');
  expect(committed).toBe(await openApiText());
});

test('the document describes every endpoint and the error body', async () => {
  const doc = JSON.parse(await openApiText());
  expect(Object.keys(doc.paths).sort()).toEqual([
    '/v1/diverter', '/v1/diverter/drain', '/v1/events', '/v1/health', '/v1/interfaces', '/v1/interfaces/{name}', '/v1/rules', '/v1/rules/batch',
    '/v1/rules/delete', '/v1/rules/flush', '/v1/version',
  ]);
  expect(doc.paths['/v1/rules'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/NewRuleInput' });
  expect(doc.paths['/v1/rules/delete'].post.responses['404'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
  expect(doc.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);
});
