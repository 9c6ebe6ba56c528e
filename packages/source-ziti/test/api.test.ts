import { afterEach, describe, expect, test } from 'vitest';
import type { CommitResult } from '@bpfsteer/agent-kernel';
import { harness, type Harness } from './fake-kernel.js';

const rule = { destination: '10.0.0.16/28', protocol: 'tcp', ports: { low: 22, high: 22 }, tproxyPort: 33381, service: 'svc' };
let h: Harness;
afterEach(async () => h?.app.close());

const post = (url: string, payload?: unknown) => h.app.inject({ method: 'POST', url, ...(payload !== undefined && { payload: payload as object }) });
const get = (url: string) => h.app.inject({ method: 'GET', url });

describe('insert', () => {
  test('commits the new snapshot, persists it, answers with the normalised rule', async () => {
    h = await harness();
    const res = await post('/v1/rules', rule);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      outcome: 'created',
      rule: { destination: '10.0.0.16/28', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 22, high: 22 }, action: 'divert', tproxyPort: 33381, interfaces: [], service: 'svc' },
    });
    expect(h.kernel.commits).toEqual([
      [{ kind: 'tproxy.rule', destination: '10.0.0.16/28', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 22, high: 22 }, action: 'divert', tproxyPort: 33381, service: 'svc' }],
    ]);
    expect(h.persisted).toHaveLength(1);
  });

  test('is idempotent: the same insert does not commit again', async () => {
    h = await harness();
    await post('/v1/rules', rule);
    const res = await post('/v1/rules', rule);
    expect(res.json()).toMatchObject({ outcome: 'unchanged' });
    expect(h.kernel.commit).toHaveBeenCalledTimes(1);
  });

  test.each<[string, unknown, string]>([
    ['bad CIDR', { ...rule, destination: '10.0.0.300/24' }, 'body.destination'],
    ['prefix out of range', { ...rule, destination: '10.0.0.0/33' }, 'prefix length 33 is larger than 32 for IPv4'],
    ['host bits set', { ...rule, destination: '10.0.0.17/28' }, 'body.destination: "10.0.0.17/28" has host bits set; did you mean 10.0.0.16/28?'],
    ['port out of range', { ...rule, ports: { low: 70000 } }, 'body.ports.low: ports.low must be an integer 0..65535'],
    ['low > high', { ...rule, ports: { low: 30, high: 20 } }, 'low <= high'],
    ['unknown protocol', { ...rule, protocol: 'icmp' }, 'protocol must be "tcp" or "udp"'],
    ['unknown field', { ...rule, foo: 1 }, 'Unrecognized key'],
    ['bad interface name', { ...rule, interfaces: ['a/b'] }, 'interface name'],
    ['family mismatch', { ...rule, source: 'fd00::/8' }, 'same family'],
    ['divert without port', { ...rule, action: 'divert', tproxyPort: 0 }, 'needs tproxyPort'],
    ['not an object', [1, 2], 'a rule must be an object'],
  ])('400 for %s; nothing reaches commit', async (_n, body, message) => {
    h = await harness();
    const res = await post('/v1/rules', body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('ERR_VALIDATION');
    expect(res.json().error.message).toContain(message);
    expect(h.kernel.commit).not.toHaveBeenCalled();
    expect(h.service.state.rules.size).toBe(0);
  });

  test.each<[CommitResult, number, string]>([
    [{ ok: false, reason: 'invalid', error: 'interface eth9 is not attached' }, 422, 'ERR_REJECTED'],
    [{ ok: false, reason: 'unavailable', error: 'no running plugin consumes "tproxy.rule"' }, 503, 'ERR_UNAVAILABLE'],
    [{ ok: false, reason: 'failed', error: 'map update: ENOMEM' }, 500, 'ERR_APPLY_FAILED'],
  ])('a refused commit (%o) keeps the store and is not persisted', async (result, status, code) => {
    h = await harness();
    h.kernel.result = result;
    const res = await post('/v1/rules', rule);
    expect(res.statusCode).toBe(status);
    expect(res.json().error).toMatchObject({ code });
    expect(res.json().error.message).toContain(result.ok ? '' : result.error);
    expect(h.service.state.rules.size).toBe(0);
    expect(h.persisted).toHaveLength(0);
  });

  test('an interface outside the configured list is refused with 422 before commit', async () => {
    h = await harness({ allowedInterfaces: ['eth0', 'lo'] });
    const res = await post('/v1/rules', { ...rule, interfaces: ['eth1'] });
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({ code: 'ERR_UNKNOWN_INTERFACE' });
    expect(res.json().error.message).toContain('accepted: eth0, lo');
    expect(h.kernel.commit).not.toHaveBeenCalled();
    expect((await post('/v1/rules', { ...rule, interfaces: ['lo'] })).statusCode).toBe(200);
  });

  test('a failed save after an applied commit is a 500 ERR_PERSIST; the store follows the kernel', async () => {
    h = await harness({
      persist: async () => {
        throw new Error('EROFS: read-only file system');
      },
    });
    const res = await post('/v1/rules', rule);
    expect(res.statusCode).toBe(500);
    expect(res.json().error).toMatchObject({ code: 'ERR_PERSIST' });
    expect(res.json().error.message).toContain('EROFS');
    expect(h.service.state.rules.size).toBe(1);
  });
});

describe('delete', () => {
  test('404 for a missing rule; no commit', async () => {
    h = await harness();
    const res = await post('/v1/rules/delete', { destination: '10.0.0.0/24', protocol: 'udp', ports: { low: 53, high: 53 } });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({ code: 'ERR_RULE_NOT_FOUND', message: 'no rule udp 10.0.0.0/24 from 0.0.0.0/0 ports 53-53' });
    expect(h.kernel.commit).not.toHaveBeenCalled();
  });

  test('removes interfaces, then the rule', async () => {
    h = await harness();
    await post('/v1/rules', { ...rule, interfaces: ['eth0', 'lo'] });
    const a = await post('/v1/rules/delete', { destination: '10.0.0.16/28', protocol: 'tcp', ports: { low: 22, high: 22 }, interfaces: ['lo'] });
    expect(a.json()).toMatchObject({ removed: [], narrowed: [{ interfaces: ['eth0'] }] });
    const b = await post('/v1/rules/delete', { destination: '10.0.0.16/28', protocol: 'tcp', ports: { low: 22 } });
    expect(b.json().removed).toHaveLength(1);
    expect(h.kernel.commits.at(-1)).toEqual([]);
  });
});

describe('batch', () => {
  test('applies everything as one commit', async () => {
    h = await harness();
    const operations = Array.from({ length: 1000 }, (_, i) => ({
      op: 'insert',
      rule: { destination: `10.${i >> 8}.${i & 255}.0/24`, protocol: 'tcp', ports: { low: 80, high: 80 }, tproxyPort: 4000 },
    }));
    const res = await post('/v1/rules/batch', { operations: [...operations, { op: 'delete', rule: { destination: '10.0.0.0/24', protocol: 'tcp', ports: { low: 80 } } }] });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ operations: 1001, created: 1000, updated: 0, unchanged: 0, removed: 1, narrowed: 0 });
    expect(h.kernel.commit).toHaveBeenCalledTimes(1);
    expect(h.kernel.commits[0]).toHaveLength(999);
  });

  test('all or nothing: a failing operation refuses the whole batch', async () => {
    h = await harness();
    await post('/v1/rules', rule);
    const res = await post('/v1/rules/batch', {
      operations: [
        { op: 'insert', rule: { ...rule, ports: { low: 1, high: 1 } } },
        { op: 'delete', rule: { destination: '10.9.9.9', protocol: 'tcp', ports: { low: 1, high: 1 } } },
      ],
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toMatchObject({ code: 'ERR_RULE_NOT_FOUND', details: { index: 1 } });
    expect(res.json().error.message).toMatch(/^operation 1: /);
    expect(h.kernel.commit).toHaveBeenCalledTimes(1);
    expect(h.service.state.rules.size).toBe(1);
  });

  test('a validation error names the operation', async () => {
    h = await harness();
    const res = await post('/v1/rules/batch', { operations: [{ op: 'insert', rule }, { op: 'insert', rule: { ...rule, destination: 'nope' } }] });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('body.operations.1.rule.destination');
  });

  test('an empty batch is refused', async () => {
    h = await harness();
    expect((await post('/v1/rules/batch', { operations: [] })).statusCode).toBe(400);
  });
});

test('flush', async () => {
  h = await harness();
  await post('/v1/rules', rule);
  expect((await post('/v1/rules/flush')).json()).toEqual({ removed: 1 });
  expect(h.kernel.commits.at(-1)).toEqual([]);
  expect((await post('/v1/rules/flush')).json()).toEqual({ removed: 0 });
  expect(h.kernel.commit).toHaveBeenCalledTimes(2);
});

describe('list', () => {
  test('joins the counters of describe by identity; filters', async () => {
    h = await harness();
    await post('/v1/rules', rule);
    await post('/v1/rules', { destination: '192.168.3.0/24', protocol: 'udp', ports: { low: 53, high: 53 }, tproxyPort: 0 });
    await post('/v1/rules', { destination: '10.9.0.0/16', protocol: 'tcp', ports: { low: 1, high: 1024 }, action: 'deny' });
    h.kernel.described.set('tproxy.rule', {
      capacity: 131072,
      rules: [
        { intent: { kind: 'tproxy.rule', destination: '10.0.0.16/28', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 22, high: 22 }, action: 'divert', tproxyPort: 33381 }, id: 7, packets: 12, bytes: 3400 },
      ],
    });
    const all = (await get('/v1/rules')).json();
    expect(all).toMatchObject({ capacity: 131072, total: 3, count: 3, counters: true });
    expect(all.rules.map((r: { destination: string }) => r.destination)).toEqual(['10.0.0.16/28', '10.9.0.0/16', '192.168.3.0/24']);
    expect(all.rules[0]).toMatchObject({ id: 7, packets: 12, bytes: 3400 });
    expect(all.rules[1]).toMatchObject({ id: null, packets: null });
    expect((await get('/v1/rules?filter=intercepts')).json().rules.map((r: { action: string }) => r.action)).toEqual(['divert']);
    expect((await get('/v1/rules?filter=passthrough')).json().rules.map((r: { action: string }) => r.action)).toEqual(['pass']);
    expect((await get('/v1/rules?filter=nope')).statusCode).toBe(400);
  });

  test('a describe of another shape lists without counters', async () => {
    h = await harness();
    await post('/v1/rules', rule);
    h.kernel.described.set('tproxy.rule', { unexpected: true });
    expect((await get('/v1/rules')).json()).toMatchObject({ capacity: null, counters: false, count: 1 });
  });
});

describe('interfaces', () => {
  test('put merges settings into a tproxy.interface intent; get joins describe', async () => {
    h = await harness();
    const put = await h.app.inject({ method: 'PUT', url: '/v1/interfaces/eth0', payload: { echo: true } });
    expect(put.json()).toEqual({ name: 'eth0', settings: { echo: true }, changed: true });
    await h.app.inject({ method: 'PUT', url: '/v1/interfaces/eth0', payload: { ssh: false } });
    expect(h.kernel.commits.at(-1)).toEqual([{ kind: 'tproxy.interface', name: 'eth0', ssh: false, echo: true }]);
    const live = { name: 'eth0', ifindex: 3, attachment: 'tcx-ingress', ssh: false, echo: true, ipv6: true, events: { drops: true, diverts: true }, passed: 1, diverted: 2, dropped: 3, eventsLost: 0 };
    h.kernel.described.set('tproxy.interface', { interfaces: [live] });
    const { ifindex, attachment, passed, dropped } = live;
    expect((await get('/v1/interfaces')).json()).toMatchObject({
      interfaces: [{ name: 'eth0', settings: { ssh: false, echo: true }, live: { ifindex, attachment, passed, dropped } }],
    });
  });

  test.each<[string, unknown, number]>([
    ['/v1/interfaces/eth0', { echo: 'yes' }, 400],
    ['/v1/interfaces/eth0', { other: true }, 400],
    ['/v1/interfaces/a%20b', { echo: true }, 400],
    ['/v1/interfaces/0123456789abcdefg', { echo: true }, 400],
  ])('PUT %s %o -> %i', async (url, payload, status) => {
    h = await harness();
    const res = await h.app.inject({ method: 'PUT', url, payload: payload as object });
    expect(res.statusCode).toBe(status);
    expect(h.kernel.commit).not.toHaveBeenCalled();
  });
});

describe('requests that cannot be read', () => {
  test.each<[string, string | undefined, string, number, string]>([
    ['malformed JSON', 'application/json', '{"destination":', 400, 'ERR_BAD_REQUEST'],
    ['empty JSON body', 'application/json', '', 400, 'ERR_BAD_REQUEST'],
    ['prototype poisoning', 'application/json', '{"__proto__":{"a":1}}', 400, 'ERR_BAD_REQUEST'],
    ['text body', 'text/plain', 'hello', 415, 'ERR_UNSUPPORTED_MEDIA_TYPE'],
    ['form body', 'application/x-www-form-urlencoded', 'a=1', 415, 'ERR_UNSUPPORTED_MEDIA_TYPE'],
  ])('%s', async (_n, type, payload, status, code) => {
    h = await harness();
    const res = await h.app.inject({ method: 'POST', url: '/v1/rules', payload, headers: type ? { 'content-type': type } : {} });
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(h.kernel.commit).not.toHaveBeenCalled();
  });

  test('413 over the body limit', async () => {
    h = await harness({ bodyLimit: 1024 });
    const res = await post('/v1/rules', { ...rule, service: 'x'.repeat(2000) });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('ERR_BODY_TOO_LARGE');
  });

  test('404 for an unknown endpoint lists the endpoints', async () => {
    h = await harness();
    const res = await h.app.inject({ method: 'DELETE', url: '/v1/rules' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.details.endpoints).toContain('POST /v1/rules/delete');
  });
});

test('bearer token: 401 without or with a wrong one; constant answers with the right one', async () => {
  h = await harness({ token: 'a-very-secret-token-1234' });
  expect((await get('/v1/version')).statusCode).toBe(401);
  const wrong = await h.app.inject({ method: 'GET', url: '/v1/version', headers: { authorization: 'Bearer nope' } });
  expect(wrong.statusCode).toBe(401);
  expect(wrong.headers['www-authenticate']).toBe('Bearer');
  expect(wrong.json().error.code).toBe('ERR_UNAUTHORIZED');
  const right = await h.app.inject({ method: 'GET', url: '/v1/version', headers: { authorization: 'Bearer a-very-secret-token-1234' } });
  expect(right.statusCode).toBe(200);
  const denied = await h.app.inject({ method: 'POST', url: '/v1/rules', payload: rule });
  expect(denied.statusCode).toBe(401);
  expect(h.kernel.commit).not.toHaveBeenCalled();
});

test('version, health, openapi', async () => {
  h = await harness();
  h.kernel.running.add('tproxy.rule');
  expect((await get('/v1/version')).json()).toEqual({ name: '@bpfsteer/source-ziti', version: expect.any(String), api: 'v1' });
  expect((await get('/v1/health')).statusCode).toBe(503); // nothing committed yet
  await post('/v1/rules', rule);
  expect((await get('/v1/health')).json()).toMatchObject({ ok: true, rules: 1 });
  const doc = (await get('/v1/openapi.json')).json();
  expect(doc.openapi).toBe('3.0.3');
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/rules', '/v1/rules/batch', '/v1/interfaces/{name}']));
});

test('mutations are serialised: commits never overlap and each builds on the previous one', async () => {
  h = await harness();
  let running = 0;
  let maxRunning = 0;
  h.kernel.commit.mockImplementation(async (intents) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((r) => setTimeout(r, 2));
    running--;
    h.kernel.commits.push(intents);
    return { ok: true, report: { added: 1, updated: 0, removed: 0 } };
  });
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => post('/v1/rules', { ...rule, ports: { low: i, high: i } })),
  );
  expect(results.every((r) => r.statusCode === 200)).toBe(true);
  expect(maxRunning).toBe(1);
  expect(h.kernel.commits.map((c) => c.length)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
});

describe('health (issue 9 item 7d)', () => {
  test('a refused request changes nothing, so health stays 200; lastError keeps the last refused commit', async () => {
    h = await harness();
    h.kernel.running.add('tproxy.rule');
    await post('/v1/rules', rule);
    expect((await get('/v1/health')).statusCode).toBe(200);
    expect((await post('/v1/rules', { ...rule, destination: '10.0.0.300/24' })).statusCode).toBe(400);
    expect((await post('/v1/rules/delete', { destination: '10.9.0.0/24', protocol: 'udp', ports: { low: 53 } })).statusCode).toBe(404);
    expect((await get('/v1/health')).json()).toMatchObject({ ok: true, lastError: null });
    for (const [result, status] of [
      [{ ok: false, reason: 'invalid', error: 'interface eth9 is not attached' }, 422],
      [{ ok: false, reason: 'failed', error: 'map update: ENOMEM' }, 500],
    ] as const) {
      h.kernel.result = result;
      expect((await post('/v1/rules', { ...rule, interfaces: ['eth9'] })).statusCode).toBe(status);
      const health = await get('/v1/health');
      expect(health.statusCode).toBe(200);
      expect(health.json()).toMatchObject({ ok: true, applied: true, dataplane: true, rules: 1, lastError: { at: expect.any(String), reason: result.reason, error: result.error } });
    }
    h.kernel.result = { ok: true, report: { added: 1, updated: 0, removed: 0 } };
    await post('/v1/rules', { ...rule, ports: { low: 23, high: 23 } });
    expect((await get('/v1/health')).json()).toMatchObject({ ok: true, rules: 2, lastError: { reason: 'failed' } }); // kept
  });

  test('503 when no running plugin consumes the rules, whatever the last commit', async () => {
    h = await harness();
    await post('/v1/rules', rule);
    const down = await get('/v1/health');
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ ok: false, applied: true, dataplane: false });
    h.kernel.running.add('tproxy.rule');
    expect((await get('/v1/health')).statusCode).toBe(200);
  });
});
