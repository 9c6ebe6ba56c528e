/**
 * Two tunnels over loopback, real TCP and real mutual TLS (openssl-made certificates): A carries
 * what its outbound listener accepts to B, which connects it to the destination. The original
 * destination of an accepted connection is given here by the test (the kernel's, through
 * plugin-connect-redirect, is in test/tunnel.kernel.test.ts). Faults: a refused destination, an
 * unreachable or stalled peer, an identity not allowed either way, no original destination — each
 * a reset for the client, a counter, never a hang.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, portOf } from './support/ports.js';
import { type Destination, Tunnel, type TunnelConfigInput, tunnelConfigSchema } from '../src/index.js';
import { type IssuedFiles as NodeFiles, makeTestCa } from '@bpfsteer/netlab';

const ID = (n: string) => `spiffe://cluster.local/ns/bpfsteer/sa/${n}`;
let dir: string;
let nodeA: NodeFiles;
let nodeB: NodeFiles;
let nodeB2: NodeFiles;
let rogue: NodeFiles;
let foreign: NodeFiles;
const cleanups: (() => unknown)[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bpfsteer-tunnel-'));
  const ca = makeTestCa(dir, 'mesh');
  nodeA = ca.issue('node-a', { uri: ID('node-a') });
  nodeB = ca.issue('node-b', { uri: ID('node-b') });
  nodeB2 = ca.issue('node-b2', { uri: ID('node-b2') });
  rogue = ca.issue('rogue', { uri: ID('rogue') });
  foreign = makeTestCa(dir, 'other').issue('foreign', { uri: ID('node-a') });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** An echo server that answers "echo:" and what it got once the client half-closed. */
async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => s.end(Buffer.concat([Buffer.from('echo:'), ...chunks])));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { server, port: (server.address() as { port: number }).port };
}


async function startTunnel(config: Partial<TunnelConfigInput>, originalDestination?: (s: Socket) => Destination | undefined): Promise<Tunnel> {
  const t = new Tunnel(
    { outbound: ['127.0.0.1:0'], inbound: [], connectTimeoutMs: 1000, tls: { ...nodeA, allowedIdentities: [ID('node-a'), ID('node-b')] }, ...config },
    { ...(originalDestination && { originalDestination }), tlsCheckMs: 50 },
  );
  await t.start();
  cleanups.push(() => t.stop());
  return t;
}

/** A (outbound) -> B (inbound) towards `destination`; B's files and allow-list as given. */
async function pair(destination: () => Destination | undefined, b: Partial<TunnelConfigInput> = {}, a: Partial<TunnelConfigInput> = {}) {
  const B = await startTunnel({ outbound: [], inbound: ['127.0.0.1:0'], tls: { ...nodeB, allowedIdentities: [ID('node-a')] }, ...b });
  const A = await startTunnel({ peers: [{ destination: '127.0.0.0/8', address: B.addresses.inbound[0]! }], ...a }, destination);
  return { A, B };
}

/** Sends `payload` through A's outbound listener, half-closes, and reads to the end. */
function exchange(A: Tunnel, payload: Buffer | string): Promise<{ ok: true; reply: Buffer } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const s = connect(portOf(A.addresses.outbound[0]!), '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('connect', () => s.end(payload));
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => resolve({ ok: true, reply: Buffer.concat(chunks) }));
    s.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, error: err.code ?? err.message }));
  });
}

describe('Tunnel', () => {
  it('carries a connection to its original destination through the peer, both ways, with half-close', async () => {
    const { port } = await echoServer();
    const { A, B } = await pair(() => ({ address: '127.0.0.1', port }));
    expect(await exchange(A, 'hi')).toEqual({ ok: true, reply: Buffer.from('echo:hi') });
    expect(A.stats).toMatchObject({ outboundAccepted: 1, outboundPeerFailed: 0, bytesOut: 2, bytesIn: 7 });
    expect(B.stats).toMatchObject({ inboundStreams: 1, inboundDialFailed: 0 });
    // stopping does not wait for the peer's session (still open) to end
    const stopping = Date.now();
    await B.stop();
    expect(Date.now() - stopping).toBeLessThan(1000);
  });

  it('with back-pressure: 16 MiB each way arrive whole; 20 connections at once share one session', async () => {
    const { port } = await echoServer();
    const { A } = await pair(() => ({ address: '127.0.0.1', port }));
    const big = randomBytes(16 << 20);
    const r = await exchange(A, big);
    expect(r.ok && createHash('sha256').update(r.reply.subarray(5)).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => exchange(A, `n${i}`)));
    expect(many.map((m) => m.ok && m.reply.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `echo:n${i}`));
    expect(A.sessions).toBe(1);
  });

  it('a refused destination, an unreachable peer, a stalled peer, no original destination: the client is reset', async () => {
    const refused = await closedPort();
    const { A, B } = await pair(() => ({ address: '127.0.0.1', port: refused }));
    expect(await exchange(A, 'x')).toEqual({ ok: false, error: 'ECONNRESET' });
    expect(A.stats.outboundRefused).toBe(1);
    expect(B.stats.inboundDialFailed).toBe(1);

    const nowhere = await startTunnel({ peers: [{ destination: '127.0.0.0/8', address: `127.0.0.1:${await closedPort()}` }] }, () => ({ address: '127.0.0.1', port: 9 }));
    expect(await exchange(nowhere, 'x')).toEqual({ ok: false, error: 'ECONNRESET' });
    expect(nowhere.stats.outboundPeerFailed).toBe(1);

    // a peer that accepts and never answers the TLS handshake
    const stall = createServer(() => undefined);
    await new Promise<void>((r) => stall.listen(0, '127.0.0.1', r));
    cleanups.push(() => {
      stall.close();
    });
    const stalled = await startTunnel(
      { connectTimeoutMs: 300, peers: [{ destination: '127.0.0.0/8', address: `127.0.0.1:${(stall.address() as { port: number }).port}` }] },
      () => ({ address: '127.0.0.1', port: 9 }),
    );
    const started = Date.now();
    expect(await exchange(stalled, 'x')).toEqual({ ok: false, error: 'ECONNRESET' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(stalled.stats.outboundPeerFailed).toBe(1);

    const lost = await startTunnel({}, () => undefined);
    expect(await exchange(lost, 'x')).toEqual({ ok: false, error: 'ECONNRESET' });
    expect(lost.stats.outboundNoDestination).toBe(1);
    await expect.poll(() => lost.stats.open).toBe(0); // nothing left open
  });

  it('refuses a peer whose identity is not allowed, either way, and one of another CA', async () => {
    const { port } = await echoServer();
    // B allows node-a only: a rogue node (signed by the same CA) is refused
    const r1 = await pair(() => ({ address: '127.0.0.1', port }), {}, { tls: { ...rogue, allowedIdentities: [ID('node-b')] } });
    expect(await exchange(r1.A, 'x')).toEqual({ ok: false, error: 'ECONNRESET' });
    expect(r1.B.stats.inboundIdentityRefused).toBe(1);
    // A allows node-x only: B (node-b) is refused by A
    const r2 = await pair(() => ({ address: '127.0.0.1', port }), {}, { tls: { ...nodeA, allowedIdentities: [ID('node-x')] } });
    expect(await exchange(r2.A, 'x')).toEqual({ ok: false, error: 'ECONNRESET' });
    expect(r2.A.stats.outboundPeerFailed).toBe(1);
    expect(r2.B.stats.inboundStreams).toBe(0);
    // a certificate of another CA naming an allowed identity: the handshake fails
    const r3 = await pair(() => ({ address: '127.0.0.1', port }), {}, { tls: { ...foreign, caFile: nodeA.caFile, allowedIdentities: [] } });
    expect(await exchange(r3.A, 'x')).toEqual({ ok: false, error: 'ECONNRESET' });
    expect(r3.B.stats.inboundStreams).toBe(0);
  });

  it('reads its certificate files again when they change: new sessions use the new identity', async () => {
    const { port } = await echoServer();
    const files = { certFile: join(dir, 'b-live.crt'), keyFile: join(dir, 'b-live.key'), caFile: nodeB.caFile };
    copyFileSync(nodeB.certFile, files.certFile);
    copyFileSync(nodeB.keyFile, files.keyFile);
    const { A } = await pair(() => ({ address: '127.0.0.1', port }), { tls: { ...files, allowedIdentities: [ID('node-a')] } }, {
      tls: { ...nodeA, allowedIdentities: [ID('node-b2')] },
    });
    expect(await exchange(A, 'x')).toEqual({ ok: false, error: 'ECONNRESET' }); // B is node-b, A wants node-b2
    copyFileSync(nodeB2.keyFile, files.keyFile);
    copyFileSync(nodeB2.certFile, files.certFile);
    await expect.poll(async () => (await exchange(A, 'x')).ok, { timeout: 3000 }).toBe(true);
  });

  it('refuses tls: false unless plainText says so, and carries in the clear when it does', async () => {
    const r = tunnelConfigSchema.safeParse({ tls: false });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/^false sends every connection in the clear/);
    const { port } = await echoServer();
    const { A } = await pair(() => ({ address: '127.0.0.1', port }), { tls: false, plainText: true }, { tls: false, plainText: true });
    expect(await exchange(A, 'clear')).toEqual({ ok: true, reply: Buffer.from('echo:clear') });
  });
});
