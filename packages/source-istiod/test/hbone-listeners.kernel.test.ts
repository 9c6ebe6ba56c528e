// HBONE listener acquisition per pod, end to end: a fake istio-cni passes real netns fds through the
// ZDS proxy to a ztunnel-like child, which opens its 15008 listener inside each pod netns (marked
// 0x539). The agent gets that listener by discovery (sock_diag + /proc + pidfd_getfd) or by
// registration (the child hands it over with SCM_RIGHTS), and exposes pod uid -> netns, addresses,
// listener fds (a dual-stack one, or separate IPv4-only / IPv6-only ones); Del closes everything;
// a proxy that exits has its listeners let go (only this agent held them) and found again later.
import net from 'node:net';
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getSocketMark, NetnsHandle, SeqpacketSocket, socketInfo } from '@bpfsteer/core-bpf';
import { HboneListeners, type PodNetwork } from '../src/zds/hbone-listeners.js';
import { discoverListeners } from '../src/zds/listener-discovery.js';
import { sklookupPodIntents } from '../src/zds/sklookup-intents.js';
import { ZdsProxy } from '../src/zds/zds-proxy.js';
import { type FakeCniConnection, FakeIstioCni } from './support/fake-istio-cni.js';
import { type LabPod, PodLab } from './support/pod-lab.js';
import { ZtunnelChild } from './support/ztunnel-child.js';

/** handles as a registry would name them (by the objects' inodes, so a test can tell them apart) */
const handlesOf = (p: PodNetwork) => ({ netns: `h:${p.netnsInode}`, socket: (l: PodNetwork['listeners'][number]) => `h:${l.inode}` });

const isOpen = (fd: number): boolean => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

async function until(fn: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await sleep(10);
  }
}

let lab: PodLab;
let dir: string;
let pods: LabPod[];
const cleanups: Array<() => unknown> = [];

beforeAll(() => {
  lab = new PodLab();
  pods = [lab.addPod(), lab.addPod()];
  dir = mkdtempSync(join(tmpdir(), `hbl-${process.pid}-`));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  lab.cleanup();
});

let seq = 0;
const cniOf = new WeakMap<ZdsProxy, FakeIstioCni>();
async function setup(options: { registration?: boolean; discovery?: boolean; childFlags?: Record<string, string> } = {}) {
  seq += 1;
  const cniPath = join(dir, `cni-${seq}.sock`);
  const listenPath = join(dir, `agent-${seq}.sock`);
  const registrationPath = join(dir, `reg-${seq}.sock`);
  const cni = FakeIstioCni.listen(cniPath);
  cleanups.push(() => cni.close());
  const proxy = new ZdsProxy({ listenPath, upstreamPath: cniPath });
  cniOf.set(proxy, cni);
  proxy.start();
  cleanups.push(() => proxy.stop());
  const hbone = new HboneListeners(proxy.pods, {
    discovery: options.discovery ?? true,
    retry: { initialMs: 20, maxMs: 100, attempts: 10 },
    ...(options.registration ? { registration: { path: registrationPath } } : {}),
  });
  const changes: PodNetwork[][] = [];
  hbone.on('change', (list) => changes.push([...list]));
  hbone.start();
  cleanups.push(() => hbone.stop());
  const child = ZtunnelChild.spawn({ zds: listenPath, ...(options.registration ? { register: registrationPath } : {}), ...options.childFlags });
  cleanups.push(() => child.kill());
  const conn: FakeCniConnection = await cni.nextConnection();
  await conn.hello;
  return { proxy, hbone, child, conn, changes, registrationPath };
}

describe('HBONE listener discovery', () => {
  it('finds the proxy\'s listener in each pod netns and takes a working duplicate', async () => {
    const { hbone, child, conn, changes } = await setup();
    expect((await conn.add('uid-a', pods[0].path, 'web', 'shop')).error).toBe('');
    expect((await conn.add('uid-b', pods[1].path)).error).toBe('');
    expect((await conn.snapshotSent()).error).toBe('');
    await until(() => hbone.list().length === 2 && hbone.list().every((p) => p.listeners.length > 0), 'both listeners discovered');
    const a = hbone.get('uid-a')!;
    expect(a).toMatchObject({ uid: 'uid-a', name: 'web', namespace: 'shop', confirmed: true, addresses: [pods[0].ipv4, pods[0].ipv6].sort() });
    expect(a.listeners).toHaveLength(1);
    const [l] = a.listeners;
    expect(l).toMatchObject({ family: 6, address: '::', port: 15008, v6Only: false, via: 'discovery' });
    // the duplicate is the child's socket: in the pod's netns, marked 0x539 by the proxy
    const info = socketInfo(l.fd);
    expect(info).toMatchObject({ listening: true, protocol: 6, inode: l.inode });
    const podNs = NetnsHandle.open(a.netnsPath);
    try {
      expect(info.netnsInode).toBe(podNs.inode);
      expect(podNs.inode).toBe(NetnsHandle.open(pods[0].path).inode);
    } finally {
      podNs.close();
    }
    expect(getSocketMark(l.fd)).toBe(0x539);
    expect(lab.connect(pods[0].ipv4, 15008)).toBe(`hbone uid-a ::ffff:${pods[0].ipv4} 15008`);
    expect((await child.waitFor((e) => e.event === 'add' && e.uid === 'uid-a')).netnsInode).toBe(String(a.netnsInode));
    // the state as intents for the sk_lookup plugin
    await until(() => (changes.at(-1) ?? []).every((p) => p.listeners.length > 0) && changes.at(-1)?.length === 2, 'change event');
    const intents = sklookupPodIntents(changes.at(-1)!, handlesOf);
    expect(intents).toEqual([
      { kind: 'sklookup.pod', uid: 'uid-a', netnsHandle: `h:${a.netnsInode}`, addresses: a.addresses, socketHandles: [`h:${l.inode}`] },
      {
        kind: 'sklookup.pod',
        uid: 'uid-b',
        netnsHandle: `h:${hbone.get('uid-b')!.netnsInode}`,
        addresses: [pods[1].ipv4, pods[1].ipv6].sort(),
        socketHandles: [`h:${hbone.get('uid-b')!.listeners[0].inode}`],
      },
    ]);
    // Del: the pod, its netns fd and its listener fd go
    expect((await conn.del('uid-a')).error).toBe('');
    await until(() => hbone.get('uid-a') === undefined, 'uid-a gone');
    expect(isOpen(l.fd) && fstatSync(l.fd, { bigint: true }).ino === l.inode).toBe(false);
  });

  it('leaves a confirmed pod without a listener while nothing listens, retrying until one appears', async () => {
    const { hbone, conn, child } = await setup({ childFlags: { 'listen-delay': '400' } });
    expect((await conn.add('uid-a', pods[0].path)).error).toBe('');
    await until(() => hbone.get('uid-a')?.confirmed === true, 'confirmed');
    await sleep(150);
    expect(hbone.get('uid-a')?.listeners).toEqual([]); // attempts so far found nothing
    expect(discoverListeners(pods[0].path, 15008)).toEqual({ listeners: [], problems: [] });
    await child.waitFor((e) => e.event === 'add' && e.uid === 'uid-a');
    await until(() => (hbone.get('uid-a')?.listeners.length ?? 0) > 0, 'listener found by a later attempt');
    expect(hbone.get('uid-a')!.listeners[0]).toMatchObject({ port: 15008, via: 'discovery' });
  });

  it('finds separate IPv4-only and IPv6-only listeners, and publishes both (IPv4 first)', async () => {
    const { hbone, conn } = await setup({ childFlags: { listeners: 'separate' } });
    expect((await conn.add('uid-a', pods[0].path)).error).toBe('');
    await until(() => (hbone.get('uid-a')?.listeners.length ?? 0) === 2, 'both listeners discovered');
    const a = hbone.get('uid-a')!;
    expect(a.listeners).toMatchObject([
      { family: 4, address: '0.0.0.0', port: 15008, via: 'discovery' },
      { family: 6, address: '::', port: 15008, v6Only: true, via: 'discovery' },
    ]);
    for (const l of a.listeners) expect(getSocketMark(l.fd)).toBe(0x539);
    expect(lab.connect(pods[0].ipv4, 15008)).toBe(`hbone uid-a ${pods[0].ipv4} 15008`);
    expect(lab.connect(pods[0].ipv6, 15008)).toBe(`hbone uid-a ${pods[0].ipv6} 15008`);
    expect(sklookupPodIntents([a], handlesOf)).toEqual([
      { kind: 'sklookup.pod', uid: 'uid-a', netnsHandle: `h:${a.netnsInode}`, addresses: a.addresses, socketHandles: a.listeners.map((l) => `h:${l.inode}`) },
    ]);
  });

  it('the proxy exiting: the listeners only this agent holds are let go (closed for good), and found again when a proxy is back', async () => {
    const { proxy, hbone, child, conn } = await setup();
    expect((await conn.add('uid-a', pods[1].path)).error).toBe('');
    expect((await conn.snapshotSent()).error).toBe('');
    await until(() => (hbone.get('uid-a')?.listeners.length ?? 0) > 0, 'discovered');
    const [old] = hbone.get('uid-a')!.listeners;
    expect(hbone.releaseOrphans()).toBe(0); // the proxy holds it
    await child.kill();
    await until(() => proxy.session === undefined, 'the session ended');
    expect(hbone.releaseOrphans()).toBe(1);
    expect(hbone.get('uid-a')).toMatchObject({ listeners: [], listenersLost: true, confirmed: true });
    expect(isOpen(old.fd) && fstatSync(old.fd, { bigint: true }).ino === old.inode).toBe(false);
    // nobody holds it any more: the socket is closed, nothing listens on 15008 in the pod
    expect(discoverListeners(pods[1].path, 15008)).toEqual({ listeners: [], problems: [] });
    expect(lab.connect(pods[1].ipv4, 15008)).toBe('error ECONNREFUSED');
    expect(sklookupPodIntents(hbone.list(), handlesOf)).toMatchObject([{ uid: 'uid-a', socketHandles: [] }]);
    // a proxy again: istio-cni sends its snapshot, the new listener is found
    const next = ZtunnelChild.spawn({ zds: proxy.options.listenPath });
    cleanups.push(() => next.kill());
    const cni = await (cniOf.get(proxy) as FakeIstioCni).nextConnection();
    await cni.hello;
    expect((await cni.add('uid-a', pods[1].path)).error).toBe('');
    expect((await cni.snapshotSent()).error).toBe('');
    await until(() => (hbone.get('uid-a')?.listeners.length ?? 0) > 0, 'the new listener');
    expect(hbone.get('uid-a')).toMatchObject({ listenersLost: false, listeners: [{ family: 6, v6Only: false }] });
    expect(hbone.get('uid-a')!.listeners[0].inode).not.toBe(old.inode);
  });

  it('a listener whose owner process is gone is not taken (only this agent would hold it)', async () => {
    const { hbone, conn, child } = await setup({ discovery: true });
    expect((await conn.add('uid-a', pods[1].path)).error).toBe('');
    await until(() => (hbone.get('uid-a')?.listeners.length ?? 0) > 0, 'discovered');
    await child.kill();
    // the agent's duplicate keeps the socket; discovery refuses to take a socket no one else holds
    const again = discoverListeners(pods[1].path, 15008);
    expect(again.listeners).toEqual([]);
    expect(again.problems.join('; ')).toMatch(/no other process holds the listener/);
  });
});

describe('HBONE listener registration', () => {
  it('takes the listener a cooperating proxy registers, and refuses wrong ones', async () => {
    const { hbone, child, conn, registrationPath } = await setup({ registration: true, discovery: false });
    expect((await conn.add('uid-a', pods[0].path)).error).toBe('');
    const reg = await child.waitFor((e) => e.event === 'registered' && e.uid === 'uid-a');
    expect(reg.reply).toEqual({ ok: true });
    await until(() => (hbone.get('uid-a')?.listeners.length ?? 0) > 0, 'registered listener');
    const [l] = hbone.get('uid-a')!.listeners;
    expect(l).toMatchObject({ family: 6, port: 15008, via: 'registration', v6Only: false });
    expect(getSocketMark(l.fd)).toBe(0x539);

    // refusals, over the same socket the proxy uses
    const client = SeqpacketSocket.connect(registrationPath, { keepAlive: false });
    cleanups.push(() => client.close());
    const answers: unknown[] = [];
    client.start({ message: (m) => answers.push(JSON.parse(m.payload.toString())) });
    const ask = async (payload: string, fds: number[]) => {
      const n = answers.length;
      await client.send(Buffer.from(payload), fds);
      await until(() => answers.length > n, 'registration answer');
      return answers[n] as { ok: boolean; error?: string };
    };
    const hostServer = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => hostServer.once('listening', r));
    cleanups.push(() => hostServer.close());
    const hostFd = (hostServer as unknown as { _handle: { fd: number } })._handle.fd;
    const file = openSync('/proc/self/status', 'r');
    try {
      expect(await ask('{"uid":"nobody"}', [hostFd])).toEqual({ ok: false, error: 'unknown pod uid "nobody" (not (yet) added over ZDS)' });
      expect(await ask('{"uid":"uid-a"}', [hostFd])).toEqual({ ok: false, error: 'the listener is not in the network namespace of pod uid-a' });
      expect(await ask('{"uid":"uid-a"}', [file])).toMatchObject({ ok: false, error: expect.stringMatching(/^the fd is not a socket: .*ENOTSOCK/) });
      expect(await ask('{"uid":"uid-a"}', [])).toMatchObject({ ok: false, error: expect.stringMatching(/exactly one fd/) });
      expect(await ask('not json', [hostFd])).toMatchObject({ ok: false, error: expect.stringMatching(/not JSON/) });
      const [a, b] = SeqpacketSocket.pair();
      expect(await ask('{"uid":"uid-a"}', [a.fd])).toMatchObject({ ok: false, error: expect.stringMatching(/not a listening TCP socket \(unix seqpacket/) });
      a.close();
      b.close();
    } finally {
      closeSync(file);
    }
    // nothing of that changed what was registered
    expect(hbone.get('uid-a')!.listeners).toEqual([l]);
    expect(isOpen(l.fd)).toBe(true);
    // the pod leaves: the registered listener fd is closed
    expect((await conn.del('uid-a')).error).toBe('');
    await until(() => hbone.get('uid-a') === undefined, 'gone');
    expect(isOpen(l.fd) && fstatSync(l.fd, { bigint: true }).ino === l.inode).toBe(false);
  });
});
