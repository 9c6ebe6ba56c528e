import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Agent } from '../src/agent.js';
import { createAgent } from '../src/create-agent.js';
import { familyProblem, mapFamilies } from '../src/plugin-metric-families.js';
import { parseListenAddress } from '../src/listen-address.js';
import { captureLogger, fakePlugin, fakeSource } from './fakes.js';

let dir: string;
let agents: Agent[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), `bpfsteer-metrics-test-${process.pid}-`));
  agents = [];
});
afterEach(async () => {
  for (const a of agents) await a.stop();
  await rm(dir, { recursive: true, force: true });
});

const fast = { openMs: 500, applyMs: 500, closeMs: 500 };

function agentWith(agentSection: Record<string, unknown>, opts: { failing?: boolean } = {}) {
  const journal: string[] = [];
  const plugins = [
    fakePlugin('pa', journal, { intents: { 'a.kind': z.looseObject({ v: z.number() }) } }),
    ...(opts.failing ? [fakePlugin('pb', journal, { fail: ['open'] })] : []),
  ];
  const source = fakeSource(journal);
  const { logger } = captureLogger();
  const agent = createAgent({
    plugins,
    sources: [source],
    logger,
    config: {
      agent: { adminSocket: false, pinRoot: '/sys/fs/bpf/metrics-test', timeouts: fast, ...agentSection },
      plugins: plugins.map((p) => ({ id: p.id })),
      sources: [{ type: 'fake', name: 'src', initial: [{ kind: 'a.kind', v: 1 }] }],
    },
  });
  agents.push(agent);
  return { agent, source };
}

/** The sum of the series `name{labels...}` (each with at least these labels) in a text exposition; undefined when there is none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const got = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum = (sum ?? 0) + Number(match[3]);
  }
  return sum;
}

describe('metrics', () => {
  it("exposes the agent's series, the plugins' families and map gauges, and the sources' metrics", async () => {
    const { agent, source } = agentWith({});
    await agent.start();
    const requests = source.instances[0]!.context.metrics.counter({ name: 'fake_requests_total', help: 'requests', labelNames: ['route'] });
    requests.inc({ route: '/x' }, 3);
    // the same name again: the same counter
    expect(source.instances[0]!.context.metrics.counter({ name: 'fake_requests_total', help: 'requests', labelNames: ['route'] })).toBe(requests);
    const result = await source.instances[0]!.sink!.commit([{ kind: 'a.kind', v: 2 }]);
    expect(result.ok).toBe(true);
    const refused = await source.instances[0]!.sink!.commit([{ kind: 'z.kind' }]);
    expect(refused.ok).toBe(false);

    const { contentType, text } = await agent.metrics();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(text, 'bpfsteer_build_info', { version: '0.1.0', node: process.version })).toBe(1);
    expect(sample(text, 'bpfsteer_plugin_state', { plugin: 'pa', state: 'running' })).toBe(1);
    expect(sample(text, 'bpfsteer_plugin_state', { plugin: 'pa', state: 'failed' })).toBe(0);
    expect(sample(text, 'bpfsteer_source_state', { source: 'fake#0', type: 'fake', state: 'running' })).toBe(1);
    expect(sample(text, 'bpfsteer_source_commits_total', { source: 'fake#0', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'bpfsteer_source_commits_total', { source: 'fake#0', outcome: refused.ok ? 'ok' : refused.reason })).toBe(1);
    expect(sample(text, 'bpfsteer_plugin_apply_duration_seconds_count', { plugin: 'pa' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'bpfsteer_plugin_apply_changes_total', { plugin: 'pa', change: 'added' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'bpfsteer_plugin_map_entries', { plugin: 'pa', map: 'pa_rules' })).toBe(1);
    expect(sample(text, 'bpfsteer_plugin_map_capacity', { plugin: 'pa', map: 'pa_rules' })).toBe(1024);
    expect(sample(text, 'fake_pa_applies_total')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'fake_requests_total', { source: 'fake#0', route: '/x' })).toBe(3);
    expect(text).toMatch(/^# TYPE fake_pa_applies_total counter$/m);
    expect(sample(text, 'process_start_time_seconds')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('shows a failed plugin by its state and serves no families of it', async () => {
    const { agent } = agentWith({}, { failing: true });
    await agent.start();
    const { text } = await agent.metrics();
    expect(sample(text, 'bpfsteer_plugin_state', { plugin: 'pb', state: 'failed' })).toBe(1);
    expect(text).not.toMatch(/fake_pb_/);
  });

  it('serves /metrics on the admin socket', async () => {
    const socket = join(dir, 'agent.sock');
    const { agent } = agentWith({ adminSocket: socket });
    await agent.start();
    const res = await httpGet({ socketPath: socket, path: '/metrics' });
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toMatch(/^bpfsteer_plugin_state\{plugin="pa",state="running"\} 1$/m);
  });

  it('serves /metrics on TCP, with the bearer token of its token file when one is set', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'metrics-token-0123456789\n');
    await chmod(tokenFile, 0o600);
    const { agent } = agentWith({ metrics: { listen: `127.0.0.1:${await freePort()}`, tokenFile } });
    await agent.start();
    const port = Number(/:(\d+)$/.exec(await metricsAddress(agent))![1]);
    const get = (path: string, headers: Record<string, string> = {}) => httpGet({ host: '127.0.0.1', port, path, headers });
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', { authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
    const ok = await get('/metrics', { authorization: 'Bearer metrics-token-0123456789' });
    expect(ok.status).toBe(200);
    expect(ok.type).toMatch(/^text\/plain/);
    expect(sample(ok.body, 'bpfsteer_plugin_state', { plugin: 'pa', state: 'running' })).toBe(1);
    expect((await get('/v1/status', { authorization: 'Bearer metrics-token-0123456789' })).status).toBe(404);
  });

  it('refuses to start when its metrics address cannot be used', async () => {
    const first = agentWith({ metrics: { listen: `127.0.0.1:${await freePort()}` } });
    await first.agent.start();
    const taken = await metricsAddress(first.agent);
    const { agent } = agentWith({ metrics: { listen: taken } });
    await expect(agent.start()).rejects.toMatchObject({ code: 'ERR_METRICS_LISTEN' });
  });
});

function httpGet(options: RequestOptions): Promise<{ status: number; body: string; type?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A TCP port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The address the agent's metrics server listens on. */
async function metricsAddress(agent: Agent): Promise<string> {
  const address = agent.metricsAddress;
  if (address === undefined) throw new Error('no metrics server');
  return address;
}

describe('metric families', () => {
  it("makes each map's entries and capacity a series of the plugin and map", () => {
    const families = mapFamilies([{ id: 'p', maps: [{ name: 'm', entries: 3, maxEntries: 8 }] }]);
    expect(families.map((f) => [f.name, f.values])).toEqual([
      ['bpfsteer_plugin_map_entries', [{ labels: { plugin: 'p', map: 'm' }, value: 3 }]],
      ['bpfsteer_plugin_map_capacity', [{ labels: { plugin: 'p', map: 'm' }, value: 8 }]],
    ]);
  });

  it("finds a plugin's mistakes in its families", () => {
    const ok = { name: 'x_total', help: 'h', type: 'counter', values: [{ labels: { a: 'b' }, value: 1 }] } as const;
    expect(familyProblem(ok)).toBeUndefined();
    expect(familyProblem({ ...ok, name: 'x-total' })).toMatch(/invalid metric name/);
    expect(familyProblem({ ...ok, values: [{ value: -1 }] })).toMatch(/negative/);
    expect(familyProblem({ ...ok, values: [{ labels: { 'a-b': 'c' }, value: 1 }] })).toMatch(/invalid label name/);
    expect(familyProblem({ ...ok, values: [{ value: Number.NaN }] })).toMatch(/not a number/);
  });

  it('reads listen addresses', () => {
    expect(parseListenAddress('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListenAddress('[::]:9464')).toEqual({ host: '::', port: 9464 });
    expect(parseListenAddress('localhost:1')).toEqual({ host: 'localhost', port: 1 });
    for (const bad of ['9464', ':9464', '0.0.0.0:70000', '[::]', 'a b:1', '::1:80']) expect(parseListenAddress(bad)).toBeUndefined();
  });
});
