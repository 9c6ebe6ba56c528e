// The ZDS proxy between a fake istio-cni node agent (passing REAL netns fds of netns made here) and
// a ztunnel-like child process: every message and the netns fd relayed unchanged, Acks back, the
// pods learned with the agent's own netns fds, malformed input answered with Ack errors and nothing
// learned lost, Del and snapshot reconciliation closing fds, reconnects with backoff.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSync, closeSync } from 'node:fs';
import { ZdsProxy } from '../src/zds/zds-proxy.js';
import { loadZdsProtos } from '../src/zds/zds-protos.js';
import { type FakeCniConnection, FakeIstioCni } from './support/fake-istio-cni.js';
import { type LabPod, PodLab } from './support/pod-lab.js';
import { ZtunnelChild } from './support/ztunnel-child.js';

const codec = loadZdsProtos();
const inodeOf = (path: string): string => String(statSync(path, { bigint: true }).ino);
/** "dev:ino" of every namespace file this process holds an fd of (nsfs shares one device) */
const nsfsDev = statSync('/proc/self/ns/net', { bigint: true }).dev;
const heldNetns = (): string[] =>
  readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const st = statSync(`/proc/self/fd/${fd}`, { bigint: true });
      return st.dev === nsfsDev ? [String(st.ino)] : [];
    } catch {
      return [];
    }
  });

async function until(fn: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await sleep(10);
  }
}

const logs: Array<{ level: string; msg: string; fields: object }> = [];
const logger = {
  debug: (fields: object, msg: string) => logs.push({ level: 'debug', msg, fields }),
  info: (fields: object, msg: string) => logs.push({ level: 'info', msg, fields }),
  warn: (fields: object, msg: string) => logs.push({ level: 'warn', msg, fields }),
  error: (fields: object, msg: string) => logs.push({ level: 'error', msg, fields }),
};

let lab: PodLab;
let dir: string;
let pods: LabPod[];
const cleanups: Array<() => unknown> = [];

beforeAll(() => {
  lab = new PodLab();
  pods = [lab.addPod(), lab.addPod(), lab.addPod()];
  dir = mkdtempSync(join(tmpdir(), `zds-${process.pid}-`));
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  lab.cleanup();
});

let seq = 0;
/** A proxy between a fresh fake istio-cni and a ztunnel-like child, all connected. */
async function setup(flags: Record<string, string> = {}, options: { startCni?: boolean } = {}) {
  seq += 1;
  const cniPath = join(dir, `cni-${seq}.sock`);
  const listenPath = join(dir, `agent-${seq}.sock`);
  const cni = options.startCni === false ? undefined : FakeIstioCni.listen(cniPath);
  if (cni) cleanups.push(() => cni.close());
  const proxy = new ZdsProxy({ listenPath, upstreamPath: cniPath, backoff: { initialMs: 50, maxMs: 200 } }, { logger });
  proxy.start();
  cleanups.push(() => proxy.stop());
  const child = ZtunnelChild.spawn({ zds: listenPath, ...flags });
  cleanups.push(() => child.kill());
  const conn = cni ? await cni.nextConnection() : undefined;
  return { cni, cniPath, listenPath, proxy, child, conn };
}

describe('ZdsProxy relaying', () => {
  it('forwards the hello, the snapshot and the netns fds unchanged; Acks flow back; pods are learned', async () => {
    const { proxy, child, conn, listenPath } = await setup();
    expect(statSync(listenPath).mode & 0o777).toBe(0o600);
    const c = conn as FakeCniConnection;
    expect(await c.hello).toEqual(codec.encodeHello({ version: 'V1' })); // the proxy's bytes, unchanged
    const ack = await c.add('uid-a', pods[0].path, 'web', 'shop');
    expect(ack.error).toBe('');
    expect(ack.raw.toString('hex')).toBe(codec.encodeResponse({ ack: { error: '' } }).toString('hex')); // exactly the child's bytes (0a020a00)
    expect((await c.add('uid-b', pods[1].path)).error).toBe('');
    expect((await c.snapshotSent()).error).toBe('');
    // the child got a working netns fd: the same namespace, with the pod's own addresses inside
    const addA = await child.waitFor((e) => e.event === 'add' && e.uid === 'uid-a');
    expect(addA).toMatchObject({ name: 'web', netnsInode: inodeOf(pods[0].path), fds: 1 });
    expect(addA.addresses).toEqual(expect.arrayContaining([pods[0].ipv4, pods[0].ipv6]));
    await child.waitFor((e) => e.event === 'snapshot');
    // ... and opened its listener inside that pod: reachable from outside the pod over the veth
    expect(lab.connect(pods[0].ipv4, 15008)).toBe(`hbone uid-a ::ffff:${pods[0].ipv4} 15008`); // dual-stack [::]:15008
    expect(lab.connect(pods[1].ipv6, 15008)).toBe(`hbone uid-b ${pods[1].ipv6} 15008`);
    // the agent learned both pods, with its own fds of their netns
    await until(() => proxy.pods.list().every((p) => p.confirmed) && proxy.pods.size === 2, 'pods confirmed');
    const a = proxy.pods.get('uid-a')!;
    expect(a).toMatchObject({ name: 'web', namespace: 'shop', serviceAccount: 'default', confirmed: true, netnsPath: `/proc/self/fd/${a.netnsFd}` });
    expect(String(a.netnsInode)).toBe(inodeOf(pods[0].path));
    expect(inodeOf(a.netnsPath)).toBe(inodeOf(pods[0].path));
    expect(c.unexpected).toEqual([]);
    expect(proxy.session).toMatchObject({ state: 'relaying' });
  });

  it('answers malformed requests itself with an Ack error, forwards none of them, and loses nothing', async () => {
    const { proxy, child, conn } = await setup();
    const c = conn as FakeCniConnection;
    await c.hello;
    expect((await c.add('uid-a', pods[0].path)).error).toBe('');
    await until(() => proxy.pods.get('uid-a')?.confirmed === true, 'uid-a confirmed');
    const before = child.events.length;
    const file = openSync('/proc/self/status', 'r');
    const ns = openSync(pods[1].path, 'r');
    try {
      expect((await c.sendRaw(Buffer.from([0xff, 0xff]))).error).toMatch(/^bpfsteer zds proxy: WorkloadRequest does not decode/);
      expect((await c.sendRaw(Buffer.from([0x20, 0x01]))).error).toMatch(/WorkloadRequest without a payload/);
      expect((await c.request({ add: { uid: 'uid-x' } })).error).toMatch(/AddWorkload must carry exactly one fd .*got 0/);
      expect((await c.request({ add: { uid: 'uid-x' } }, [ns, ns])).error).toMatch(/exactly one fd .*got 2/);
      expect((await c.request({ add: { uid: 'uid-x' } }, [ns, ns, ns])).error).toMatch(/more fds than accepted/);
      expect((await c.request({ add: { uid: 'uid-x' } }, [file])).error).toMatch(/the fd of AddWorkload uid-x is not a network namespace fd/);
      expect((await c.request({ del: { uid: 'uid-a' } }, [ns])).error).toMatch(/DelWorkload must carry no fd, got 1/);
      expect((await c.request({ add: { workload_info: { name: 'n' } } }, [ns])).error).toMatch(/AddWorkload without a uid/);
    } finally {
      closeSync(file);
      closeSync(ns);
    }
    await sleep(50);
    expect(child.events.slice(before)).toEqual([]); // nothing reached the proxy
    expect(proxy.pods.list().map((p) => p.uid)).toEqual(['uid-a']); // nothing learned was lost
    expect(logs.some((l) => l.level === 'error' && l.msg.includes('malformed request from the node agent'))).toBe(true);
    // the stream goes on
    expect((await c.add('uid-b', pods[1].path)).error).toBe('');
    await child.waitFor((e) => e.event === 'add' && e.uid === 'uid-b');
    expect(c.unexpected).toEqual([]);
  });

  it('Del closes the agent\'s netns fd, also of a netns that vanished meanwhile', async () => {
    const extra = lab.addPod();
    const { proxy, child, conn } = await setup();
    const c = conn as FakeCniConnection;
    await c.hello;
    const inode = inodeOf(extra.path);
    expect((await c.add('uid-v', extra.path)).error).toBe('');
    await child.waitFor((e) => e.event === 'add' && e.uid === 'uid-v');
    expect(heldNetns()).toContain(inode);
    // the pod vanishes: its named netns is deleted; the agent's fd keeps the namespace alive
    lab.deleteNetns(extra.netns);
    expect(heldNetns()).toContain(inode);
    // still registered, its fd still naming the vanished namespace
    const vanished = proxy.pods.get('uid-v');
    expect(vanished && String(vanished.netnsInode)).toBe(inode);
    expect(vanished && inodeOf(vanished.netnsPath)).toBe(inode);
    expect((await c.del('uid-v')).error).toBe('');
    await child.waitFor((e) => e.event === 'del' && e.uid === 'uid-v');
    expect(proxy.pods.get('uid-v')).toBeUndefined();
    expect(heldNetns()).not.toContain(inode);
    // a Del of an unknown pod is still forwarded and answered
    expect((await c.del('uid-never')).error).toBe('');
  });

  it('reconciles the snapshot after the node agent reconnects: pods not re-sent are dropped', async () => {
    const { proxy, child, conn, cni } = await setup();
    const c = conn as FakeCniConnection;
    await c.hello;
    for (const [uid, pod] of [['uid-1', pods[0]], ['uid-2', pods[1]], ['uid-3', pods[2]]] as const) {
      expect((await c.add(uid, pod.path)).error).toBe('');
    }
    expect((await c.snapshotSent()).error).toBe('');
    await until(() => proxy.pods.size === 3 && proxy.pods.list().every((p) => p.confirmed), 'three pods');
    const fdOf1 = proxy.pods.get('uid-1')!.netnsFd;
    // the node agent restarts: the agent closes the proxy's connection too; the proxy reconnects
    c.close();
    await child.waitFor((e) => e.event === 'disconnected');
    const c2 = await cni!.nextConnection();
    expect(await c2.hello).toEqual(codec.encodeHello({ version: 'V1' }));
    expect(proxy.pods.size).toBe(3); // kept while the stream was down
    expect((await c2.add('uid-1', pods[0].path)).error).toBe(''); // same netns: refreshed, fd kept
    expect((await c2.keep('uid-2')).error).toBe('');
    expect((await c2.snapshotSent()).error).toBe('');
    expect(proxy.pods.list().map((p) => p.uid).sort()).toEqual(['uid-1', 'uid-2']);
    expect(proxy.pods.get('uid-1')!.netnsFd).toBe(fdOf1);
    expect(heldNetns()).not.toContain(inodeOf(pods[2].path));
    const snap = await child.waitFor((e) => e.event === 'snapshot', 2);
    expect(snap).toMatchObject({ dropped: ['uid-3'], pods: ['uid-1', 'uid-2'] });
    expect(child.of('keep')).toEqual([{ event: 'keep', uid: 'uid-2', known: true }]);
  });

  it('retries the node agent with backoff while the proxy waits', async () => {
    const { proxy, child, cniPath } = await setup({}, { startCni: false });
    await child.waitFor((e) => e.event === 'hello-sent');
    await until(() => logs.filter((l) => l.msg.includes('cannot reach the node agent')).length >= 2, 'two failed attempts');
    expect(proxy.session?.state).toBe('connecting');
    const cni = FakeIstioCni.listen(cniPath);
    cleanups.push(() => cni.close());
    const c = await cni.nextConnection();
    expect(await c.hello).toEqual(codec.encodeHello({ version: 'V1' }));
    expect((await c.add('late', pods[0].path)).error).toBe('');
    await child.waitFor((e) => e.event === 'add' && e.uid === 'late');
  });

  it('passes the proxy\'s Ack errors back and turns a malformed answer into an Ack error; a refused pod is kept pending (the proxy retries it), not forgotten', async () => {
    const { proxy, child, conn } = await setup({ refuse: 'uid-r', garble: 'uid-g' });
    const c = conn as FakeCniConnection;
    await c.hello;
    expect((await c.add('uid-r', pods[0].path)).error).toBe('refused by the test proxy');
    expect((await c.add('uid-g', pods[1].path)).error).toMatch(/^bpfsteer zds proxy: the proxy's answer was malformed: WorkloadResponse does not decode/);
    expect((await c.add('uid-ok', pods[2].path)).error).toBe('');
    await child.waitFor((e) => e.event === 'add' && e.uid === 'uid-ok');
    await until(() => proxy.pods.get('uid-ok')?.confirmed === true, 'uid-ok confirmed');
    expect(proxy.pods.list().map((p) => [p.uid, p.confirmed, p.pending]).sort()).toEqual([
      ['uid-g', false, true],
      ['uid-ok', true, false],
      ['uid-r', false, true],
    ]);
    expect(heldNetns()).toContain(inodeOf(pods[0].path)); // its netns is kept for when the proxy serves it
  });

  it('a second proxy connection (a rolling update) gets a session of its own beside the first: both relayed, each with its own node-agent stream; stop() forgets the pods and closes their fds', async () => {
    const { proxy, conn, listenPath, cni, child } = await setup();
    const c = conn as FakeCniConnection;
    await c.hello;
    expect((await c.add('uid-a', pods[0].path)).error).toBe('');
    expect((await c.snapshotSent()).error).toBe('');
    const second = ZtunnelChild.spawn({ zds: listenPath });
    cleanups.push(() => second.kill());
    const c2 = await cni!.nextConnection();
    await c2.hello;
    await until(() => proxy.sessions.length === 2 && proxy.sessions.every((s) => s.state === 'relaying'), 'two sessions relaying', 3000).catch((e) => { throw new Error(`${e.message}: ${JSON.stringify(proxy.sessions)} ${JSON.stringify(logs.slice(-8))}`); });
    // the node agent's snapshot for the new connection names uid-a again; new pods go to the newest, deletions to all
    expect((await c2.add('uid-a', pods[0].path)).error).toBe('');
    expect((await c2.snapshotSent()).error).toBe('');
    expect((await c2.add('uid-b', pods[1].path)).error).toBe('');
    await second.waitFor((e) => e.event === 'add' && e.uid === 'uid-b');
    expect(proxy.pods.list().map((p) => p.uid).sort()).toEqual(['uid-a', 'uid-b']);
    expect((await c.del('uid-a')).error).toBe('');
    expect((await c2.del('uid-a')).error).toBe('');
    await child.waitFor((e) => e.event === 'del' && e.uid === 'uid-a');
    await second.waitFor((e) => e.event === 'del' && e.uid === 'uid-a');
    expect(proxy.pods.list().map((p) => p.uid)).toEqual(['uid-b']);
    expect(logs.filter((l) => /replaced/.test(l.msg))).toEqual([]);
    await proxy.stop();
    expect(proxy.pods.size).toBe(0);
    expect(heldNetns()).not.toContain(inodeOf(pods[0].path));
    expect(heldNetns()).not.toContain(inodeOf(pods[1].path));
  });
});
