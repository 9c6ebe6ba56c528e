/**
 * The istiod source's Prometheus series (istiod-metrics.ts) move: the xDS client's against a fake
 * Istiod (connection, ACKs and NACKs, resources), the CNI side's against a fake istio-cni and a
 * fake node proxy over real unix SOCK_SEQPACKET sockets (sessions, pods, requests by type and
 * outcome; the pods' netns is this process's own, no privileges needed; no listener discovery).
 */
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type IntentSink, MetricsRegistry } from '@bpfsteer/agent-kernel';
import { SeqpacketSocket } from '@bpfsteer/core-bpf';
import { ADDRESS_TYPE_URL, DeltaAdsClient, istiodSource, istiodSourceConfigSchema, loadZdsProtos, PodFeed } from '../src/index.js';
import { istiodMetrics } from '../src/istiod-metrics.js';
import { FakeIstioCni } from './support/fake-istio-cni.js';
import { FakeIstiod, workloadResource } from './support/fake-istiod.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});
const dir = mkdtempSync(join(tmpdir(), `istiod-metrics-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The value of the series `name` with exactly `labels` (the registry's default labels included; 0 when there is none). */
async function value(registry: MetricsRegistry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.registry.getMetricsAsJSON()).find((m) => m.name === name);
  if (!metric) throw new Error(`no metric ${name}`);
  const values = metric.values as { labels: Record<string, string | number>; value: number }[];
  const wanted = Object.entries(labels);
  const found = values.find((v) => Object.keys(v.labels).length === wanted.length && wanted.every(([k, x]) => v.labels[k] === x));
  return found?.value ?? 0;
}

async function poll(read: () => Promise<number>, expected: number, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  let last = await read();
  while (last !== expected) {
    if (Date.now() > end) throw new Error(`${what}: ${last}, expected ${expected}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    last = await read();
  }
}

const NODE = { id: 'ztunnel~10.0.0.5~bpfsteer-test.istio-system~istio-system.svc.cluster.local' };
const broken = { name: 'broken', version: '1', resource: { type_url: ADDRESS_TYPE_URL, value: Buffer.from([0x0a, 0x7f, 0x01]) } };

describe('xDS metrics', () => {
  it('connection state, attempts and failures, ACKs and NACKs by type URL with their last times, rejected and held resources', async () => {
    const fake = await FakeIstiod.start();
    cleanups.push(() => fake.stop());
    const registry = new MetricsRegistry();
    const client = new DeltaAdsClient({ address: fake.address, node: NODE, backoff: { initialMs: 20, maxMs: 50 } }, { metrics: istiodMetrics(registry).xds });
    client.start();
    cleanups.push(() => client.stop());
    const v = (name: string, labels?: Record<string, string>) => value(registry, name, labels);
    const address = { type_url: ADDRESS_TYPE_URL };

    await fake.subscription(1);
    expect(await v('bpfsteer_xds_connection_attempts_total')).toBe(1);
    expect(await v('bpfsteer_xds_resources', address)).toBe(0);
    const before = Date.now() / 1000;
    await fake.answerTo(fake.push({ resources: [workloadResource({ uid: 'w1', addresses: ['10.0.0.1'] }), workloadResource({ uid: 'w2', addresses: ['10.0.0.2'] })] }));
    expect(await v('bpfsteer_xds_connected')).toBe(1);
    expect(await v('bpfsteer_xds_responses_total', { ...address, outcome: 'ack' })).toBe(1);
    expect(await v('bpfsteer_xds_resources', address)).toBe(2);
    expect(await v('bpfsteer_xds_last_ack_timestamp_seconds', address)).toBeGreaterThanOrEqual(Math.floor(before));
    expect(await v('bpfsteer_xds_last_nack_timestamp_seconds', address)).toBe(0);

    // a resource rejected beside a good one: NACKed, the good one held
    await fake.answerTo(fake.push({ resources: [workloadResource({ uid: 'w3', addresses: ['10.0.0.3'] }), broken] }));
    expect(await v('bpfsteer_xds_responses_total', { ...address, outcome: 'nack' })).toBe(1);
    expect(await v('bpfsteer_xds_rejected_resources_total', address)).toBe(1);
    expect(await v('bpfsteer_xds_resources', address)).toBe(3);
    expect(await v('bpfsteer_xds_last_nack_timestamp_seconds', address)).toBeGreaterThanOrEqual(Math.floor(before));
    // a response of a type never subscribed: refused whole, labelled `other` (a server cannot grow the label values)
    await fake.answerTo(fake.push({ type_url: 'type.googleapis.com/istio.security.Authorization', resources: [] }));
    expect(await v('bpfsteer_xds_responses_total', { type_url: 'other', outcome: 'nack' })).toBe(1);
    await fake.answerTo(fake.push({ removed_resources: ['w1'] }));
    expect(await v('bpfsteer_xds_responses_total', { ...address, outcome: 'ack' })).toBe(2);
    expect(await v('bpfsteer_xds_resources', address)).toBe(2);

    // Istiod ends the stream: answered, so no failure; the next one is another attempt
    fake.dropStreams();
    await fake.subscription(2);
    expect(await v('bpfsteer_xds_connection_attempts_total')).toBe(2);
    expect(await v('bpfsteer_xds_connection_failures_total')).toBe(0);
    expect(await v('bpfsteer_xds_resources', address)).toBe(2); // kept while reconnecting
    await fake.answerTo(fake.push({ resources: [] }));
    expect(await v('bpfsteer_xds_connected')).toBe(1);
    // Istiod gone: not connected, the next attempts fail
    await fake.stop();
    await poll(async () => Math.min(await v('bpfsteer_xds_connection_failures_total'), 1), 1, 'a failed attempt', 10_000);
    expect(await v('bpfsteer_xds_connected')).toBe(0);
    expect(await v('bpfsteer_xds_connection_attempts_total')).toBeGreaterThanOrEqual(3);
  });

  it('the source reports its xDS series in the registry of its context', async () => {
    const fake = await FakeIstiod.start();
    cleanups.push(() => fake.stop());
    const registry = new MetricsRegistry({ source: 'istiod#0' });
    const config = istiodSourceConfigSchema.parse({ address: fake.address, node: NODE, backoff: { initialMs: 20, maxMs: 100 } });
    const source = istiodSource.create(config, {
      logger: pino({ level: 'silent' }),
      signal: new AbortController().signal,
      intentSchemas: new Map([['mesh.member', z.strictObject({ address: z.string() })]]),
      metrics: registry,
      describe: async () => undefined,
      consumers: () => [],
      watch: () => () => {},
      problem: () => undefined,
    });
    const ok = { ok: true as const, report: { added: 0, updated: 0, removed: 0 } };
    const sink: IntentSink = { publish: () => undefined, commit: async () => ok, publishChange: () => undefined, commitChange: async () => ok };
    await source.start(sink);
    cleanups.push(() => source.stop());
    await fake.subscription(1);
    await fake.answerTo(fake.push({ resources: [workloadResource({ uid: 'w1', addresses: ['10.0.0.1'] })] }));
    expect(await value(registry, 'bpfsteer_xds_responses_total', { type_url: ADDRESS_TYPE_URL, outcome: 'ack', source: 'istiod#0' })).toBe(1);
    expect(await value(registry, 'bpfsteer_xds_connected', { source: 'istiod#0' })).toBe(1);
    await source.stop();
    expect(await value(registry, 'bpfsteer_xds_connected', { source: 'istiod#0' })).toBe(0);
  });
});

/** A node proxy speaking ZDS: ZdsHello, then an Ack for each request (an error for the Add of a uid in `refuse`; none for a Keep). */
function fakeProxy(path: string, refuse: ReadonlySet<string>): SeqpacketSocket {
  const codec = loadZdsProtos();
  const socket = SeqpacketSocket.connect(path, { maxFds: 2 });
  socket.start({
    message: (m) => {
      for (const fd of m.fds) closeSync(fd);
      const request = codec.decodeRequest(m.payload);
      if (request.payload === 'keep') return; // left unanswered
      const error = request.payload === 'add' && refuse.has(request.add!.uid) ? 'failed to start the proxy' : '';
      void socket.send(codec.encodeResponse({ ack: { error } }));
    },
    end: () => undefined,
  });
  void socket.send(codec.encodeHello({ version: 'V1' }));
  return socket;
}

describe('ZDS metrics', () => {
  it('proxy and node agent connections, sync, pods by state, requests by type and outcome', async () => {
    const registry = new MetricsRegistry();
    const metrics = istiodMetrics(registry);
    const cniPath = join(dir, 'cni.sock');
    const listenPath = join(dir, 'agent.sock');
    const cni = FakeIstioCni.listen(cniPath);
    cleanups.push(() => cni.close());
    const feed = new PodFeed(
      { listenPath, upstreamPath: cniPath, backoff: { initialMs: 20, maxMs: 50 } },
      {
        metrics: metrics.zds,
        hbone: { discover: () => ({ listeners: [], problems: ['nothing listens'] }), readAddresses: () => ['10.0.0.9'], heldElsewhere: (inodes) => inodes },
      },
    );
    const unobserve = metrics.observeZds({ sessions: () => feed.proxy.sessions, pods: () => feed.proxy.pods.list(), synced: () => feed.synced });
    feed.start();
    cleanups.push(() => feed.stop());
    const v = (name: string, labels?: Record<string, string>) => value(registry, name, labels);
    const requests = (type: string, outcome: string) => v('bpfsteer_zds_requests_total', { type, outcome });
    expect(await v('bpfsteer_zds_proxy_connections')).toBe(0);

    const proxy = fakeProxy(listenPath, new Set(['uid-r']));
    cleanups.push(() => proxy.close());
    const conn = await cni.nextConnection();
    await conn.hello;
    expect(await v('bpfsteer_zds_proxy_connections')).toBe(1);
    expect(await v('bpfsteer_zds_node_agent_connections')).toBe(1);
    expect(await v('bpfsteer_zds_proxy_connections_total', { outcome: 'accepted' })).toBe(1);
    expect(await v('bpfsteer_zds_synced')).toBe(0);

    expect((await conn.add('uid-a', '/proc/self/ns/net')).error).toBe('');
    expect((await conn.add('uid-r', '/proc/self/ns/net')).error).toBe('failed to start the proxy');
    expect((await conn.add('uid-b', '/dev/null')).error).toMatch(/^bpfsteer zds proxy: /); // not a netns: not forwarded
    expect((await conn.sendRaw(Buffer.from([0xff, 0xff, 0xff]))).error).toMatch(/^bpfsteer zds proxy: /);
    expect((await conn.del('uid-gone')).error).toBe('');
    expect((await conn.snapshotSent()).error).toBe('');
    expect(await requests('add', 'ok')).toBe(1);
    expect(await requests('add', 'refused')).toBe(1);
    expect(await requests('add', 'invalid')).toBe(1);
    expect(await requests('unknown', 'invalid')).toBe(1);
    expect(await requests('del', 'ok')).toBe(1);
    expect(await requests('snapshot_sent', 'ok')).toBe(1);
    expect(await v('bpfsteer_zds_pods', { state: 'confirmed' })).toBe(1);
    expect(await v('bpfsteer_zds_pods', { state: 'pending' })).toBe(1);
    expect(await v('bpfsteer_zds_pods', { state: 'unconfirmed' })).toBe(0);
    await poll(() => v('bpfsteer_zds_synced'), 1, 'synced');

    // a Keep the proxy never answers, then the proxy goes: the session ends with it unanswered
    void conn.keep('uid-a');
    await poll(() => v('bpfsteer_zds_proxy_connections'), 1, 'still open');
    proxy.close();
    await poll(() => v('bpfsteer_zds_proxy_connections'), 0, 'proxy connections');
    expect(await v('bpfsteer_zds_node_agent_connections')).toBe(0);
    expect(await requests('keep', 'unanswered')).toBe(1);
    expect(await v('bpfsteer_zds_pods', { state: 'confirmed' })).toBe(1); // the pods stay known across sessions

    // istio-cni gone: a new proxy connection's connects to it fail (and are retried)
    cni.close();
    const again = fakeProxy(listenPath, new Set());
    cleanups.push(() => again.close());
    await poll(async () => Math.min(await v('bpfsteer_zds_node_agent_connect_failures_total'), 2), 2, 'failed connects');
    expect(await v('bpfsteer_zds_proxy_connections')).toBe(1);
    expect(await v('bpfsteer_zds_node_agent_connections')).toBe(0);

    // the source stopped observing: the gauges read 0, the counters stay
    unobserve();
    expect(await v('bpfsteer_zds_proxy_connections')).toBe(0);
    expect(await v('bpfsteer_zds_pods', { state: 'confirmed' })).toBe(0);
    expect(await requests('add', 'ok')).toBe(1);
  });
});
