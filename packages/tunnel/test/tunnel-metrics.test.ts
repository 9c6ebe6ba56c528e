/**
 * The tunnel source's Prometheus series (tunnel-metrics.ts) move with what two tunnels over
 * loopback carry (plain text: the TLS side is tunnel.test.ts's): connections, failures, bytes,
 * sessions to peers; and the tunnel source reports them in its context's registry.
 */
import { connect, createServer, type Server } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type IntentSink, MetricsRegistry } from '@bpfsteer/agent-kernel';
import { closedPort, portOf } from './support/ports.js';
import { type Destination, Tunnel, tunnelSource, tunnelSourceConfigSchema } from '../src/index.js';
import { observeTunnel } from '../src/tunnel-metrics.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function listening(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return (server.address() as { port: number }).port;
}

/** An echo server that answers "echo:" and what it got once the client half-closed. */
const echoServer = (): Promise<number> =>
  listening(
    createServer((s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c) => chunks.push(c));
      s.on('end', () => s.end(Buffer.concat([Buffer.from('echo:'), ...chunks])));
      s.on('error', () => undefined);
    }),
  );


async function startTunnel(config: object, originalDestination?: () => Destination | undefined): Promise<Tunnel> {
  const t = new Tunnel({ outbound: [], inbound: [], tls: false, plainText: true, connectTimeoutMs: 1000, ...config }, originalDestination ? { originalDestination } : {});
  await t.start();
  cleanups.push(() => t.stop());
  return t;
}

/** Sends `payload` through A's outbound listener, half-closes, and reads to the end (or the reset). */
function exchange(A: Tunnel, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(portOf(A.addresses.outbound[0]!), '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('connect', () => s.end(payload));
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString()));
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** The value of the series `name` with exactly `labels` (the registry's default labels included; 0 when there is none). */
async function value(registry: MetricsRegistry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.registry.getMetricsAsJSON()).find((m) => m.name === name);
  if (!metric) throw new Error(`no metric ${name}`);
  const values = metric.values as { labels: Record<string, string | number>; value: number }[];
  const wanted = Object.entries(labels);
  return values.find((v) => Object.keys(v.labels).length === wanted.length && wanted.every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}

describe('tunnel metrics', () => {
  it('connections, failures, bytes and sessions of both ends; the counters go on across tunnels of one source', async () => {
    const echo = await echoServer();
    const refused = await closedPort();
    let destination: Destination | undefined = { address: '127.0.0.1', port: echo };
    const B = await startTunnel({ inbound: ['127.0.0.1:0'] });
    const A = await startTunnel({ outbound: ['127.0.0.1:0'], peers: [{ destination: '127.0.0.0/8', address: B.addresses.inbound[0]! }] }, () => destination);
    const atA = new MetricsRegistry();
    const atB = new MetricsRegistry();
    const unobserveA = observeTunnel(atA, A);
    observeTunnel(atB, B);
    const a = (name: string, labels?: Record<string, string>) => value(atA, name, labels);
    const b = (name: string, labels?: Record<string, string>) => value(atB, name, labels);

    expect(await a('bpfsteer_tunnel_connections_total', { direction: 'outbound' })).toBe(0);
    expect(await exchange(A, 'hi')).toBe('echo:hi');
    expect(await a('bpfsteer_tunnel_connections_total', { direction: 'outbound' })).toBe(1);
    expect(await a('bpfsteer_tunnel_bytes_total', { direction: 'out' })).toBe(2);
    expect(await a('bpfsteer_tunnel_bytes_total', { direction: 'in' })).toBe(7);
    expect(await a('bpfsteer_tunnel_peer_sessions', { direction: 'outbound' })).toBe(1);
    expect(await a('bpfsteer_tunnel_peer_sessions_opened_total')).toBe(1);
    expect(await b('bpfsteer_tunnel_connections_total', { direction: 'inbound' })).toBe(1);
    expect(await b('bpfsteer_tunnel_bytes_total', { direction: 'out' })).toBe(2);
    expect(await b('bpfsteer_tunnel_peer_sessions', { direction: 'inbound' })).toBe(1);

    // the destination refuses: B cannot dial it, A's peer answers an error
    destination = { address: '127.0.0.1', port: refused };
    expect(await exchange(A, 'x')).toBe('ECONNRESET');
    expect(await a('bpfsteer_tunnel_connection_failures_total', { direction: 'outbound', reason: 'peer_refused' })).toBe(1);
    expect(await b('bpfsteer_tunnel_connection_failures_total', { direction: 'inbound', reason: 'dial_failed' })).toBe(1);
    // no original destination
    destination = undefined;
    expect(await exchange(A, 'x')).toBe('ECONNRESET');
    expect(await a('bpfsteer_tunnel_connection_failures_total', { direction: 'outbound', reason: 'no_destination' })).toBe(1);
    expect(await a('bpfsteer_tunnel_connections_total', { direction: 'outbound' })).toBe(3);
    await expect.poll(() => a('bpfsteer_tunnel_open_connections')).toBe(0);

    // A stops: its counts stay, its gauges read 0; a new tunnel of the same source counts on from them
    await A.stop();
    unobserveA();
    expect(await a('bpfsteer_tunnel_peer_sessions', { direction: 'outbound' })).toBe(0);
    expect(await a('bpfsteer_tunnel_connections_total', { direction: 'outbound' })).toBe(3);
    destination = { address: '127.0.0.1', port: echo };
    const A2 = await startTunnel({ outbound: ['127.0.0.1:0'], peers: [{ destination: '127.0.0.0/8', address: B.addresses.inbound[0]! }] }, () => destination);
    observeTunnel(atA, A2);
    expect(await exchange(A2, 'again')).toBe('echo:again');
    expect(await a('bpfsteer_tunnel_connections_total', { direction: 'outbound' })).toBe(4);
    expect(await a('bpfsteer_tunnel_bytes_total', { direction: 'out' })).toBe(2 + 5);
    expect(await a('bpfsteer_tunnel_peer_sessions_opened_total')).toBe(2);
  });

  it('the tunnel source reports its tunnel in the registry of its context', async () => {
    const echo = await echoServer();
    const registry = new MetricsRegistry({ source: 'tunnel#0' });
    const inbound = `127.0.0.1:${await closedPort()}`;
    const config = tunnelSourceConfigSchema.parse({ outbound: [], inbound: [inbound], tls: false, plainText: true });
    const source = tunnelSource.create(config, {
      logger: pino({ level: 'silent' }),
      signal: new AbortController().signal,
      intentSchemas: new Map(),
      metrics: registry,
      describe: async () => undefined,
      consumers: () => [],
      watch: () => () => undefined,
      problem: () => undefined,
    });
    const sink: IntentSink = {
      publish: () => undefined,
      commit: async () => ({ ok: true, report: { added: 0, updated: 0, removed: 0 } }),
      publishChange: () => undefined,
      commitChange: async () => ({ ok: true, report: { added: 0, updated: 0, removed: 0 } }),
    };
    await source.start(sink);
    cleanups.push(() => source.stop());
    const A = await startTunnel({ outbound: ['127.0.0.1:0'], peers: [{ destination: '127.0.0.0/8', address: inbound }] }, () => ({ address: '127.0.0.1', port: echo }));
    expect(await exchange(A, 'hi')).toBe('echo:hi');
    expect(await value(registry, 'bpfsteer_tunnel_connections_total', { direction: 'inbound', source: 'tunnel#0' })).toBe(1);
    expect(await value(registry, 'bpfsteer_tunnel_peer_sessions', { direction: 'inbound', source: 'tunnel#0' })).toBe(1);
    const text = await registry.registry.getSingleMetricAsString('bpfsteer_tunnel_bytes_total');
    expect(text).toMatch(/# TYPE bpfsteer_tunnel_bytes_total counter/);
  });
});
