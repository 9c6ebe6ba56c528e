/**
 * The trusted response schemas are stringified without zod (see response-serializer.ts): each of
 * their bodies must be exactly the text zod's serializer makes (same keys, same order, nothing
 * extra), for every answer the routes give.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { z, type ZodType } from 'zod';
import { trustedResponseSchemas } from '../src/api/response-serializer.js';
import { batchResultSchema, deleteResultSchema, errorSchema, flushResultSchema, healthSchema, insertResultSchema } from '../src/api/schemas.js';
import { validRule } from './api-arbitraries.js';
import { harness, type Harness } from './fake-kernel.js';

let h: Harness;
afterEach(async () => h?.app.close());

const schemaOf: Record<string, ZodType> = {
  'POST /v1/rules': insertResultSchema,
  'POST /v1/rules/delete': deleteResultSchema,
  'POST /v1/rules/batch': batchResultSchema,
  'POST /v1/rules/flush': flushResultSchema,
  'GET /v1/health': healthSchema,
};

/** Sends the request; expects its body to be what zod's serializer makes of it; returns the body. */
async function send(method: 'GET' | 'POST', url: string, payload?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown }> {
  const res = await h.app.inject({ method, url, ...(payload !== undefined && { payload: payload as object }), ...(headers && { headers }) });
  const schema = res.statusCode >= 400 && !(url === '/v1/health' && res.statusCode === 503) ? errorSchema : schemaOf[`${method} ${url}`]!;
  expect(trustedResponseSchemas.has(schema)).toBe(true);
  const body = JSON.parse(res.body) as unknown;
  const encoded = z.safeEncode(schema, body as never);
  expect(encoded.success, `${method} ${url} ${res.statusCode}: ${res.body}`).toBe(true);
  expect(res.body).toBe(JSON.stringify(encoded.data));
  return { status: res.statusCode, body };
}

const rule = { destination: '10.0.0.16/28', protocol: 'tcp', ports: { low: 22, high: 22 }, tproxyPort: 33381, service: 'svc' };

describe('trusted response bodies are the text zod makes', () => {
  test('insert, delete, batch, flush, health and their errors', async () => {
    h = await harness({ allowedInterfaces: ['eth0', 'eth1', 'eth2'] });
    expect((await send('GET', '/v1/health')).status).toBe(503); // no plugin runs: lastCommit null
    h.kernel.running.add('tproxy.rule');
    expect((await send('POST', '/v1/rules', rule)).body).toMatchObject({ outcome: 'created' });
    await send('POST', '/v1/rules', rule); // unchanged
    await send('POST', '/v1/rules', { ...rule, interfaces: ['eth1', 'eth0'], service: undefined }); // updated, service kept
    await send('POST', '/v1/rules', { destination: 'fd00::/64', protocol: 'udp', ports: { low: 53 }, action: 'deny' });
    await send('POST', '/v1/rules', { ...rule, ports: { low: 22, high: 23 }, action: 'pass', tproxyPort: 0, interfaces: ['eth2'] });
    expect((await send('GET', '/v1/health')).status).toBe(200);
    expect((await send('POST', '/v1/rules/delete', { ...rule, tproxyPort: undefined, service: undefined, interfaces: ['eth0'] })).body).toMatchObject({ narrowed: [{}] });
    expect((await send('POST', '/v1/rules/delete', { destination: '10.0.0.16/28', protocol: 'tcp', ports: { low: 22 } })).body).toMatchObject({ removed: [{}, {}] });
    expect((await send('POST', '/v1/rules/delete', { destination: '10.0.0.16/28', protocol: 'tcp', ports: { low: 22 } })).status).toBe(404);
    const batch = { operations: [{ op: 'insert', rule }, { op: 'delete', rule: { destination: 'fd00::/64', protocol: 'udp', ports: { low: 53, high: 53 } } }] };
    expect((await send('POST', '/v1/rules/batch', batch)).body).toMatchObject({ created: 1, removed: 1 });
    expect((await send('POST', '/v1/rules/batch', batch)).status).toBe(404); // operation 1: no such rule
    expect((await send('POST', '/v1/rules', { ...rule, destination: '10.0.0.17/28' })).status).toBe(400);
    expect((await send('POST', '/v1/rules', { ...rule, interfaces: ['eth9'] })).status).toBe(422);
    expect((await send('POST', '/v1/rules', 'text', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await send('POST', '/v1/rules', '{"destination":', { 'content-type': 'application/json' })).status).toBe(400);
    h.kernel.result = { ok: false, reason: 'invalid', error: 'interface eth1 is not attached' };
    expect((await send('POST', '/v1/rules', { ...rule, destination: '10.9.0.0/16' })).status).toBe(422);
    expect((await send('GET', '/v1/health')).body).toMatchObject({ lastError: { ok: false, reason: 'invalid' } });
    h.kernel.result = { ok: true, report: { added: 0, updated: 0, removed: 1 } };
    expect((await send('POST', '/v1/rules/flush')).body).toEqual({ removed: 1 });
    await send('POST', '/v1/rules/flush');
  });

  test('a 401 of the TCP listener', async () => {
    h = await harness({ token: 'secret' });
    expect((await send('POST', '/v1/rules', rule)).status).toBe(401);
  });

  test('random valid rules, inserted, updated and deleted', async () => {
    h = await harness();
    await fc.assert(
      fc.asyncProperty(validRule, async (input) => {
        const body = JSON.parse(JSON.stringify(input)) as Record<string, unknown>;
        await send('POST', '/v1/rules', body);
        await send('POST', '/v1/rules', { ...body, interfaces: ['lo'] });
        const { destination, source, protocol, ports } = body;
        await send('POST', '/v1/rules/delete', { destination, source, protocol, ports });
      }),
      { numRuns: 100 },
    );
  });
});
