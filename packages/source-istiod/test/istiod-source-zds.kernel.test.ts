// The istiod source with its CNI side, against a fake Istiod, a fake istio-cni passing REAL netns
// fds, and a ztunnel-like child that opens its 15008 listener inside each pod netns: what it commits
// (members, and pods with socket handles that name the pod's netns and the proxy's listener), and how
// long the registry keeps those open (until a commit without them succeeded; a refused commit keeps
// them); a proxy that exits: its dead listener let go (socketHandles: []) and its successor's
// listeners published; no registry: a clear refusal to start.
import { mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type CommitResult, type Intent, type IntentSink, MetricsRegistry } from '@bpfsteer/agent-kernel';
import { getSocketMark, SeqpacketServer, SocketHandles, socketInfo } from '@bpfsteer/core-bpf';
import { istiodSource, istiodSourceConfigSchema } from '../src/index.js';
import { discoverListeners } from '../src/zds/listener-discovery.js';
import { FakeIstioCni } from './support/fake-istio-cni.js';
import { FakeIstiod, workloadResource } from './support/fake-istiod.js';
import { type LabPod, PodLab } from './support/pod-lab.js';
import { ZtunnelChild } from './support/ztunnel-child.js';

const schemas = new Map<string, z.ZodType>([
  ['mesh.member', z.strictObject({ address: z.string() })],
  ['sklookup.pod', z.strictObject({ uid: z.string(), netnsHandle: z.string(), addresses: z.array(z.string()).min(1), socketHandles: z.array(z.string()).optional() })],
]);

const nsfsDev = statSync('/proc/self/ns/net', { bigint: true }).dev;
/** inodes of the namespaces this process holds fds of */
const heldNetns = (): bigint[] =>
  readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const st = statSync(`/proc/self/fd/${fd}`, { bigint: true });
      return st.dev === nsfsDev ? [st.ino] : [];
    } catch {
      return [];
    }
  });
const inodeOf = (path: string): bigint => statSync(path, { bigint: true }).ino;

/** The value of the series `name` with exactly `labels` in `metrics` (0 when there is none). */
async function series(metrics: MetricsRegistry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = ((await metrics.json()) as { name: string; values: { labels: Record<string, string>; value: number }[] }[]).find((m) => m.name === name)?.values ?? [];
  const wanted = Object.entries(labels);
  return values.find((v) => Object.keys(v.labels).length === wanted.length && wanted.every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}

async function until<T>(fn: () => T | undefined | false, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await sleep(10);
  }
}

let lab: PodLab;
let pods: LabPod[];
let dir: string;
const cleanups: Array<() => unknown> = [];

beforeAll(() => {
  lab = new PodLab();
  pods = [lab.addPod(), lab.addPod()];
  dir = mkdtempSync(join(tmpdir(), `isz-${process.pid}-`));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  lab.cleanup();
});

let seq = 0;
async function setup(options: { listenPath?: string; noRegistry?: boolean } = {}) {
  seq += 1;
  const fake = await FakeIstiod.start();
  cleanups.push(() => fake.stop());
  const cniPath = join(dir, `cni-${seq}.sock`);
  const listenPath = options.listenPath ?? join(dir, `agent-${seq}.sock`);
  const cni = FakeIstioCni.listen(cniPath);
  cleanups.push(() => cni.close());
  // the agent's socket-handle registry (the agent closes it when it stops)
  const registry = new SocketHandles();
  cleanups.push(() => registry.closeAll());
  const commits: Intent[][] = [];
  const verdicts: CommitResult[] = [];
  const sink: IntentSink = {
    publish: () => undefined,
    commit: async (intents) => {
      commits.push([...intents]);
      return verdicts.shift() ?? { ok: true, report: { added: 0, updated: 0, removed: 0 } };
    },
    publishChange: () => undefined, // this source commits snapshots only
    commitChange: async () => ({ ok: false, reason: 'invalid', error: 'not used' }),
  };
  const config = istiodSourceConfigSchema.parse({
    address: fake.address,
    node: { id: 'ztunnel~10.0.0.5~bpfsteer-test.istio-system~istio-system.svc.cluster.local' },
    nodeName: 'node-a',
    backoff: { initialMs: 20, maxMs: 100 },
    zds: { listenPath, upstreamPath: cniPath, hbone: { retry: { initialMs: 20, maxMs: 100, attempts: 50 } } },
  });
  const metrics = new MetricsRegistry();
  const source = istiodSource.create(config, {
    logger: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    intentSchemas: schemas,
    metrics,
    describe: async () => undefined,
    consumers: () => [],
    watch: () => () => {},
    problem: () => undefined,
    ...(options.noRegistry ? {} : { socketHandles: registry }),
  });
  const child = ZtunnelChild.spawn({ zds: listenPath });
  cleanups.push(() => child.kill());
  return { fake, cni, source, sink, commits, verdicts, child, listenPath, registry, metrics };
}

const handlesOf = (i: Intent | undefined): string[] | undefined => i?.socketHandles as string[] | undefined;

const push = async (fake: FakeIstiod, ...uids: Array<[string, string[]]>) =>
  fake.answerTo(fake.push({ resources: uids.map(([uid, addresses]) => workloadResource({ uid, addresses, node: 'node-a' })) }));

describe('istiod source with the CNI side (ZDS)', () => {
  it('commits after Istiod answered and the pods synced: members, and pods naming their netns and the HBONE listener', async () => {
    const { fake, cni, source, sink, commits, registry, metrics } = await setup();
    await source.start(sink);
    cleanups.push(() => source.stop());
    await fake.subscription(1);
    await push(fake, ['w-a', [pods[0].ipv4, pods[0].ipv6]]);
    const conn = await cni.nextConnection();
    await conn.hello;
    expect((await conn.add('uid-a', pods[0].path)).error).toBe('');
    await sleep(100);
    expect(commits).toEqual([]); // the snapshot is not complete yet
    expect((await conn.snapshotSent()).error).toBe('');
    const last = await until(() => commits.find((c) => c.some((i) => i.kind === 'sklookup.pod' && handlesOf(i)?.length)), 'a pod with its listener');
    expect(commits[0].filter((i) => i.kind === 'mesh.member')).toEqual([
      { kind: 'mesh.member', address: pods[0].ipv4 },
      { kind: 'mesh.member', address: pods[0].ipv6 },
    ]);
    const intent = last.find((i) => i.kind === 'sklookup.pod')!;
    expect(intent).toMatchObject({ uid: 'uid-a', addresses: [pods[0].ipv4, pods[0].ipv6].sort(), netnsHandle: expect.stringMatching(/^h:\d+$/) });
    expect(inodeOf(`/proc/self/fd/${registry.fd(intent.netnsHandle as string)}`)).toBe(inodeOf(pods[0].path));
    expect(intent.socketHandles).toHaveLength(1); // one dual-stack listener
    const fd = registry.fd(handlesOf(intent)![0]);
    const info = socketInfo(fd);
    expect(info).toMatchObject({ listening: true, protocol: 6, netnsInode: inodeOf(pods[0].path), local: { port: 15008 } });
    expect(getSocketMark(fd)).toBe(0x539);
    // the source's series (istiod-metrics.ts)
    expect(await series(metrics, 'bpfsteer_xds_connected')).toBe(1);
    expect(await series(metrics, 'bpfsteer_xds_responses_total', { type_url: 'type.googleapis.com/istio.workload.Address', outcome: 'ack' })).toBe(1);
    expect(await series(metrics, 'bpfsteer_zds_proxy_connections')).toBe(1);
    expect(await series(metrics, 'bpfsteer_zds_node_agent_connections')).toBe(1);
    expect(await series(metrics, 'bpfsteer_zds_synced')).toBe(1);
    expect(await series(metrics, 'bpfsteer_zds_pods', { state: 'confirmed' })).toBe(1);
    expect(await series(metrics, 'bpfsteer_zds_requests_total', { type: 'add', outcome: 'ok' })).toBe(1);
    expect(await series(metrics, 'bpfsteer_zds_requests_total', { type: 'snapshot_sent', outcome: 'ok' })).toBe(1);
    // the stream dropping and coming back (Istiod sends the same again) commits nothing
    const count = commits.length;
    fake.dropStreams();
    await fake.subscription(2);
    await push(fake, ['w-a', [pods[0].ipv4, pods[0].ipv6]]);
    await sleep(100);
    expect(commits).toHaveLength(count);
    // stop releases its handles; the snapshot in force still names them until the agent stops and
    // closes its registry, then no fd of the pod's netns is left
    await source.stop();
    expect(registry.fd(intent.netnsHandle as string)).toBeGreaterThan(2);
    registry.closeAll();
    expect(heldNetns()).not.toContain(inodeOf(pods[0].path));
  });

  it("keeps a deleted pod's fds while the commit without it is refused, closes them once one succeeds", async () => {
    const { fake, cni, source, sink, commits, verdicts, registry } = await setup();
    await source.start(sink);
    cleanups.push(() => source.stop());
    await fake.subscription(1);
    await push(fake, ['w-a', [pods[0].ipv4]], ['w-b', [pods[1].ipv4]]);
    const conn = await cni.nextConnection();
    await conn.hello;
    expect((await conn.add('uid-a', pods[0].path)).error).toBe('');
    expect((await conn.add('uid-b', pods[1].path)).error).toBe('');
    expect((await conn.snapshotSent()).error).toBe('');
    const full = await until(
      () => commits.findLast((c) => c.filter((i) => i.kind === 'sklookup.pod' && handlesOf(i)?.length).length === 2),
      'both pods with listeners',
    );
    const b = full.find((i) => i.uid === 'uid-b')!;
    const bNetns = inodeOf(pods[1].path);
    const bSocketFd = registry.fd(handlesOf(b)![0]);
    const bSocket = socketInfo(bSocketFd).inode;
    // the pod goes; the agent refuses the commit without it: the snapshot naming b stays in force
    verdicts.push({ ok: false, reason: 'failed', error: 'test refuses' });
    const before = commits.length;
    expect((await conn.del('uid-b')).error).toBe('');
    await until(() => commits.length > before, 'the commit without uid-b');
    await sleep(50);
    expect(commits.at(-1)!.some((i) => i.uid === 'uid-b')).toBe(false);
    expect(inodeOf(`/proc/self/fd/${registry.fd(b.netnsHandle as string)}`)).toBe(bNetns); // still open, still the pod's netns
    expect(socketInfo(bSocketFd).inode).toBe(bSocket);
    // the next change commits again; this time it succeeds and b's fds are closed
    await push(fake, ['w-c', ['10.200.0.1']]);
    await until(() => !heldNetns().includes(bNetns), "uid-b's netns fd closed");
    expect(() => registry.fd(b.netnsHandle as string)).toThrow(/it was closed/);
    expect(() => registry.fd(handlesOf(b)![0])).toThrow(/it was closed/);
    expect(commits.at(-1)!.some((i) => i.uid === 'uid-b')).toBe(false);
    expect(heldNetns()).toContain(inodeOf(pods[0].path));
  });

  it('the proxy exiting: its pods are committed with socketHandles [] and every fd of its dead listener closed; the proxy back: its new listener', async () => {
    const { fake, cni, source, sink, commits, child, listenPath, registry } = await setup();
    await source.start(sink);
    cleanups.push(() => source.stop());
    await fake.subscription(1);
    await push(fake, ['w-a', [pods[0].ipv4, pods[0].ipv6]]);
    let conn = await cni.nextConnection();
    await conn.hello;
    expect((await conn.add('uid-a', pods[0].path)).error).toBe('');
    expect((await conn.snapshotSent()).error).toBe('');
    const podOf = (c: Intent[]) => c.find((i) => i.kind === 'sklookup.pod');
    const first = await until(() => commits.find((c) => handlesOf(podOf(c))?.length), 'the pod with its listener');
    const deadInode = socketInfo(registry.fd(handlesOf(podOf(first))![0])).inode;
    await child.kill();
    // the session ended: the listener only this agent still held is let go, the pod published without it
    await until(() => handlesOf(podOf(commits.at(-1)!))?.length === 0, 'socketHandles: []');
    expect(podOf(commits.at(-1)!)).toMatchObject({ uid: 'uid-a', addresses: [pods[0].ipv4, pods[0].ipv6].sort() });
    // after that commit, no fd of this process names the dead listener: the socket is gone
    await until(() => discoverListeners(pods[0].path, 15008).listeners.length === 0 && lab.connect(pods[0].ipv4, 15008) === 'error ECONNREFUSED', 'the dead listener closed');
    expect(readdirSync('/proc/self/fd').some((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === `socket:[${deadInode}]`;
      } catch {
        return false;
      }
    })).toBe(false);
    // a proxy again (with separate IPv4-only and IPv6-only listeners): both published
    const next = ZtunnelChild.spawn({ zds: listenPath, listeners: 'separate' });
    cleanups.push(() => next.kill());
    conn = await cni.nextConnection();
    await conn.hello;
    expect((await conn.add('uid-a', pods[0].path)).error).toBe('');
    expect((await conn.snapshotSent()).error).toBe('');
    const back = await until(() => {
      const handles = handlesOf(podOf(commits.at(-1)!));
      return handles?.length === 2 ? handles : undefined;
    }, 'both new listeners');
    expect(back.map((h) => socketInfo(registry.fd(h)))).toMatchObject([
      { family: 'inet', listening: true, local: { port: 15008 } },
      { family: 'inet6', v6Only: true, listening: true, local: { port: 15008 } },
    ]);
  });

  it("refuses to start without the agent's socket-handle registry when it would publish pods, naming the cause", async () => {
    const { source, sink } = await setup({ noRegistry: true });
    const held = heldNetns().length;
    await expect(source.start(sink)).rejects.toThrow(/zds: publishing sklookup.pod needs the agent's socket-handle registry/);
    expect(heldNetns()).toHaveLength(held);
    await source.stop();
  });

  it('fails to start, holding nothing, when the ZDS listen path belongs to a live server', async () => {
    const taken = join(dir, 'taken.sock');
    const server = SeqpacketServer.listen(taken);
    cleanups.push(() => server.close());
    const { source, sink } = await setup({ listenPath: taken });
    const held = heldNetns().length;
    await expect(source.start(sink)).rejects.toThrow(/taken\.sock/);
    expect(heldNetns()).toHaveLength(held);
    await source.stop();
  });
});
