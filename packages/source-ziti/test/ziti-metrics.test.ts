/**
 * The ziti source's Prometheus series (ziti-metrics.ts) move with what it serves: requests on the
 * unix socket (through fastify and the diverter's fast lane) and on TCP (with its bearer token),
 * the native client's calls, the spool's kept calls. Real sockets: in-process calls are no requests.
 */
import { request } from 'node:http';
import { createServer } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { type IntentSink, type IntentSource, MetricsRegistry } from '@bpfsteer/agent-kernel';
import { zitiSource, zitiSourceConfigSchema } from '../src/index.js';
import { fakeKernel } from './fake-kernel.js';

const TOKEN = 'metrics-test-token-0123456789';

let dir: string;
let source: IntentSource | undefined;
beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), `ziti-metrics-${process.pid}-`))));
afterEach(async () => {
  await source?.stop();
  source = undefined;
  await rm(dir, { recursive: true, force: true });
});

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

interface Answer {
  status: number;
  body: string;
}

/** One request on the unix socket (`target` a path) or on TCP (`target` a port). */
function call(target: string | number, method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<Answer> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { connection: 'close' };
  if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const where = typeof target === 'string' ? { socketPath: target } : { host: '127.0.0.1', port: target };
  return new Promise((resolve, reject) => {
    const req = request({ ...where, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The value of the series `name` with exactly `labels` (the source label aside), 0 when there is none. */
async function value(registry: MetricsRegistry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const wanted = Object.entries(labels);
  const found = values.filter((v) => {
    const own = Object.entries(v.labels).filter(([k]) => k !== 'le');
    return own.length === wanted.length && wanted.every(([k, x]) => v.labels[k] === x);
  });
  return found.reduce((sum, v) => sum + v.value, 0);
}

async function startSource(registry: MetricsRegistry) {
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, TOKEN, { mode: 0o600 });
  const port = await freePort();
  const socket = join(dir, 'ziti.sock');
  const config = zitiSourceConfigSchema.parse({
    socket,
    stateFile: join(dir, 'state', 'rules.json'),
    spool: join(dir, 'spool'),
    tcp: { host: '127.0.0.1', port, tokenFile },
  });
  const kernel = fakeKernel();
  source = zitiSource.create(config, {
    logger: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    intentSchemas: new Map(),
    metrics: registry,
    ...kernel.context,
  });
  const sink: IntentSink = { publish: vi.fn(), commit: kernel.commit, publishChange: vi.fn(), commitChange: kernel.commitChange };
  await source.start(sink);
  return { socket, port };
}

describe('ziti source metrics', () => {
  test('API requests by listener, route template, method and status, and their durations by route', async () => {
    const registry = new MetricsRegistry();
    const { socket, port } = await startSource(registry);
    const requests = (labels: Record<string, string>) => value(registry, 'bpfsteer_ziti_api_requests_total', labels);

    expect((await call(socket, 'GET', '/v1/version')).status).toBe(200);
    expect((await call(socket, 'GET', '/v1/version')).status).toBe(200);
    expect((await call(socket, 'GET', '/v1/no/such/thing?x=1')).status).toBe(404);
    const named = await call(socket, 'PUT', '/v1/interfaces/eth7', { body: { settings: 'bogus' } });
    expect((await call(port, 'GET', '/v1/version')).status).toBe(401);
    expect((await call(port, 'GET', '/v1/version', { token: TOKEN })).status).toBe(200);

    expect(await requests({ listener: 'unix', route: '/v1/version', method: 'GET', status: '200' })).toBe(2);
    // unmatched paths share one series: a scan of paths cannot grow the label values
    expect(await requests({ listener: 'unix', route: 'unmatched', method: 'GET', status: '404' })).toBe(1);
    // the route template, not the raw URL
    expect(await requests({ listener: 'unix', route: '/v1/interfaces/:name', method: 'PUT', status: String(named.status) })).toBe(1);
    expect(await requests({ listener: 'tcp', route: '/v1/version', method: 'GET', status: '401' })).toBe(1);
    expect(await requests({ listener: 'tcp', route: '/v1/version', method: 'GET', status: '200' })).toBe(1);

    const text = await registry.registry.getSingleMetricAsString('bpfsteer_ziti_api_request_duration_seconds');
    expect(text).toMatch(/bpfsteer_ziti_api_request_duration_seconds_count\{route="\/v1\/version"\} 4/);
    expect(text).toMatch(/bpfsteer_ziti_api_request_duration_seconds_count\{route="unmatched"\} 1/);
    expect(text).not.toContain('eth7');
  });

  test("the native client's calls: the unix socket's fast lane (and its replays), TCP through fastify; in-process calls are no requests", async () => {
    const registry = new MetricsRegistry();
    const { socket, port } = await startSource(registry);
    const requests = (labels: Record<string, string>) => value(registry, 'bpfsteer_ziti_api_requests_total', labels);
    const calls = (outcome: string) => value(registry, 'bpfsteer_ziti_diverter_calls_total', { outcome });

    // the fast lane: answered before fastify, counted all the same
    expect((await call(socket, 'POST', '/v1/diverter', { body: { program: 'bpfsteer-diverter', args: ['-V'] } })).status).toBe(200);
    // -L asks the API in-process (GET /v1/rules through inject): one request, not two
    expect((await call(socket, 'POST', '/v1/diverter', { body: { program: 'bpfsteer-diverter', args: ['-L'] } })).status).toBe(200);
    expect((await call(socket, 'POST', '/v1/diverter', { body: { program: 'map_update', args: ['--bogus'] } })).status).toBe(200);
    // not a call the lane runs: replayed through fastify, counted once by the lane
    expect((await call(socket, 'POST', '/v1/diverter', { body: { program: 'rm', args: [] } })).status).toBe(400);
    // TCP has no lane: fastify's route (hijacked) and its hook
    expect((await call(port, 'POST', '/v1/diverter', { body: { program: 'bpfsteer-diverter', args: ['-V'] }, token: TOKEN })).status).toBe(200);

    await vi.waitFor(async () => expect(await requests({ listener: 'unix', route: '/v1/diverter', method: 'POST', status: '200' })).toBe(3));
    expect(await requests({ listener: 'unix', route: '/v1/diverter', method: 'POST', status: '400' })).toBe(1);
    await vi.waitFor(async () => expect(await requests({ listener: 'tcp', route: '/v1/diverter', method: 'POST', status: '200' })).toBe(1));
    expect(await requests({ listener: 'unix', route: '/v1/rules', method: 'GET', status: '200' })).toBe(0);
    expect(await calls('ok')).toBe(3);
    expect(await calls('usage')).toBe(1);
    expect(await calls('refused')).toBe(0);
    const text = await registry.registry.getSingleMetricAsString('bpfsteer_ziti_api_request_duration_seconds');
    expect(text).toMatch(/bpfsteer_ziti_api_request_duration_seconds_count\{route="\/v1\/diverter"\} 5/);
  });

  test('the kept calls the spool ran, by outcome', async () => {
    const spool = join(dir, 'spool');
    await mkdir(spool, { recursive: true, mode: 0o700 });
    const kept = (n: number, call: object) => writeFile(join(spool, `${String(n).padStart(20, '0')}.call`), JSON.stringify(call));
    await kept(1, { program: 'bpfsteer-diverter', args: ['-V'], at: Date.now() });
    await kept(2, { program: 'bpfsteer-diverter', args: ['--nonsense'], at: Date.now() });
    await kept(3, { not: 'a call' });
    const registry = new MetricsRegistry();
    await startSource(registry); // applies the spool at start
    const spoolCalls = (outcome: string) => value(registry, 'bpfsteer_ziti_spool_calls_total', { outcome });
    expect(await spoolCalls('applied')).toBe(1);
    expect(await spoolCalls('failed')).toBe(1);
    expect(await spoolCalls('invalid')).toBe(1);
    expect(await spoolCalls('deferred')).toBe(0);
    // none of them is an API request
    expect(await registry.registry.getSingleMetricAsString('bpfsteer_ziti_api_requests_total')).not.toMatch(/route=/);
  });
});
