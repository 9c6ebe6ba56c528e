/**
 * Property tests of the HTTP API: thousands of random and malformed requests. Never a 5xx; every
 * refusal is a 4xx with a JSON error body; a refused request never reaches commit and leaves the
 * store as it was; whatever is accepted leaves only normalised rules in the store.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { networkOf, parseIp, tryParsePrefix } from '@bpfsteer/ip';
import { batchish, ruleish, selectorish, weird } from './api-arbitraries.js';
import { harness, type Harness } from './fake-kernel.js';

const RUNS = 1500;
vi.setConfig({ testTimeout: 120_000 });
let h: Harness;
beforeAll(async () => {
  h = await harness({ bodyLimit: 64 * 1024 });
});
afterAll(async () => {
  await h.app.close();
  // every route both accepted and refused requests
  for (const route of ['POST /v1/rules', 'POST /v1/rules/delete', 'POST /v1/rules/batch', 'PUT /v1/interfaces/:name']) {
    const counts = seen.get(route);
    console.log(route, Object.fromEntries(counts ?? []));
    expect(counts?.get(200) ?? 0, `${route} accepted nothing`).toBeGreaterThan(5);
    expect(counts?.get(400) ?? 0, `${route} refused nothing`).toBeGreaterThan(5);
  }
});

const settingsish = fc.oneof(
  fc.record({ ssh: fc.boolean(), echo: fc.boolean(), ipv6: fc.boolean(), events: fc.record({ drops: fc.boolean(), diverts: fc.boolean() }, { requiredKeys: [] }) }, { requiredKeys: [] }),
  fc.record(
    { ssh: fc.oneof(fc.boolean(), weird), echo: fc.oneof(fc.boolean(), weird), ipv6: fc.oneof(fc.boolean(), weird), events: fc.oneof(fc.record({ drops: fc.oneof(fc.boolean(), weird), diverts: fc.boolean() }, { requiredKeys: [] }), weird), other: weird },
    { requiredKeys: [] },
  ),
  weird,
);

const ifname = fc.oneof(fc.constantFrom('eth0', 'lo', 'ens33'), fc.constantFrom('eth0', 'lo', 'a%2Fb', '..', '%20', 'x'.repeat(16)), fc.string({ minLength: 1, maxLength: 20 }).map(encodeURIComponent));

const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/xml', '', 'application/x-www-form-urlencoded');

// ------------------------------------------------------------------ the property

type Method = 'GET' | 'POST' | 'PUT';

/** status counts by route, to show the properties are not vacuous */
const seen = new Map<string, Map<number, number>>();

async function check(method: Method, url: string, payload: string | undefined, type?: string): Promise<void> {
  const before = h.service.state;
  const calls = h.kernel.commit.mock.calls.length;
  const res = await h.app.inject({ method, url, ...(payload !== undefined && { payload }), headers: type ? { 'content-type': type } : {} });
  expect(res.statusCode, `${method} ${url} ${payload?.slice(0, 200)} -> ${res.body.slice(0, 300)}`).toBeLessThan(500);
  const body = res.json();
  const key = `${method} ${url.replace(/\/v1\/interfaces\/.*/, '/v1/interfaces/:name').replace(/\?.*/, '')}`;
  const counts = seen.get(key) ?? new Map<number, number>();
  counts.set(res.statusCode, (counts.get(res.statusCode) ?? 0) + 1);
  seen.set(key, counts);
  if (res.statusCode >= 400) {
    expect([400, 404, 413, 415, 422]).toContain(res.statusCode);
    expect(typeof body.error.code).toBe('string');
    expect(body.error.message.length).toBeGreaterThan(10);
    expect(h.kernel.commit.mock.calls.length).toBe(calls);
    expect(h.service.state).toBe(before);
  } else {
    expect(res.statusCode).toBe(200);
  }
  const after = h.service.state;
  if (after === before) return;
  for (const [key, rule] of after.rules) {
    if (before.rules.get(key) === rule) continue; // only what this request changed
    for (const cidr of [rule.destination, rule.source]) {
      const parsed = tryParsePrefix(cidr);
      expect(parsed.ok && parsed.value.text).toBe(cidr);
    }
    expect(rule.ports.low).toBeLessThanOrEqual(rule.ports.high);
    expect(rule.action === 'divert').toBe(rule.tproxyPort !== undefined && rule.tproxyPort > 0);
  }
}

const json = (v: unknown): string | undefined => (v === undefined ? undefined : JSON.stringify(v));

describe('random and malformed requests', () => {
  test('POST /v1/rules', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(ruleish, weird), async (body) => check('POST', '/v1/rules', json(body), 'application/json')), { numRuns: RUNS });
  });

  test('POST /v1/rules/delete', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(selectorish, weird), async (body) => check('POST', '/v1/rules/delete', json(body), 'application/json')), { numRuns: RUNS });
  });

  test('POST /v1/rules/batch', async () => {
    await fc.assert(fc.asyncProperty(batchish, async (body) => check('POST', '/v1/rules/batch', json(body), 'application/json')), { numRuns: RUNS });
  });

  test('PUT /v1/interfaces/:name', async () => {
    await fc.assert(
      fc.asyncProperty(ifname, settingsish, async (name, body) => check('PUT', `/v1/interfaces/${name}`, json(body), 'application/json')),
      { numRuns: RUNS },
    );
  });

  test('GET /v1/rules with random query strings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constantFrom('filter=all', 'filter=intercepts', 'filter=passthrough', 'filter=', 'filter=all&filter=x', 'x=1'), fc.string().map(encodeURIComponent)), async (q) =>
        check('GET', `/v1/rules?${q}`, undefined),
      ),
      { numRuns: RUNS / 3 },
    );
  });

  test('raw bytes and random content types on every mutating route', async () => {
    const route = fc.constantFrom<[Method, string]>(['POST', '/v1/rules'], ['POST', '/v1/rules/delete'], ['POST', '/v1/rules/batch'], ['PUT', '/v1/interfaces/eth0'], ['POST', '/v1/rules/flush']);
    await fc.assert(
      fc.asyncProperty(route, fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue().map((v) => JSON.stringify(v))), contentType, async ([method, url], payload, type) => {
        if (url === '/v1/rules/flush' && (type.startsWith('application/json') ? isJson(payload) : false)) return; // a JSON body on flush is ignored: a valid flush
        await check(method, url, payload, type);
      }),
      { numRuns: RUNS },
    );
  });

  test('bodies over the limit are 413', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 64 * 1024 + 1, max: 200 * 1024 }), async (size) => {
        const before = h.service.state;
        const res = await h.app.inject({ method: 'POST', url: '/v1/rules/batch', payload: `{"operations":[${' '.repeat(size)}]}`, headers: { 'content-type': 'application/json' } });
        expect(res.statusCode).toBe(413);
        expect(h.service.state).toBe(before);
      }),
      { numRuns: 20 },
    );
  });

  test('when the agent refuses, every mutation is 4xx/5xx by reason and the store stays', async () => {
    const reasons = fc.constantFrom(['invalid', 422], ['unavailable', 503], ['failed', 500]) as fc.Arbitrary<['invalid' | 'unavailable' | 'failed', number]>;
    const valid = fc.record({
      destination: fc.ipV4().map((a) => networkOf(parseIp(a), 24).text),
      protocol: fc.constantFrom('tcp', 'udp'),
      ports: fc.integer({ min: 0, max: 65535 }).map((low) => ({ low, high: low })),
      tproxyPort: fc.integer({ min: 1, max: 65535 }),
    });
    await fc.assert(
      fc.asyncProperty(valid, reasons, async (body, [reason, status]) => {
        const before = h.service.state;
        h.kernel.result = { ok: false, reason, error: 'refused by the test' };
        try {
          const res = await h.app.inject({ method: 'POST', url: '/v1/rules', payload: body });
          if (res.json().outcome === 'unchanged') return; // already there: nothing to commit
          expect(res.statusCode).toBe(status);
          expect(h.service.state).toBe(before);
        } finally {
          h.kernel.result = { ok: true, report: { added: 0, updated: 0, removed: 0 } };
        }
      }),
      { numRuns: 300 },
    );
  });
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
