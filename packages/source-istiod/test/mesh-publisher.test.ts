/**
 * MeshPublisher with a fake sink and the real socket-handle registry over fake fds: when it commits,
 * what, and which handles (and so fds) stay open.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { CommitResult, Intent, IntentSink } from '@bpfsteer/agent-kernel';
import { MESH_MEMBER_KIND, meshMemberIntentSchema, SKLOOKUP_POD_KIND, sklookupPodIntentSchema } from '@bpfsteer/contract-mesh';
import { type FdIdentity, SocketHandles } from '@bpfsteer/core-bpf';
import { MeshPublisher } from '../src/mesh-publisher.js';
import type { AddressEntry, AddressState, WorkloadInfo } from '../src/xds/address-state.js';
import type { PodNetwork } from '../src/zds/hbone-listeners.js';
import { istiodSourceConfigSchema } from '../src/istiod-source.js';

// the contract's schemas, as plugin-sklookup registers them: what this source publishes must pass them
const schemas = new Map<string, z.ZodType>([
  [MESH_MEMBER_KIND, meshMemberIntentSchema],
  [SKLOOKUP_POD_KIND, sklookupPodIntentSchema],
]);

function workload(uid: string, addresses: string[], extra: Partial<WorkloadInfo> = {}): AddressEntry {
  const w: WorkloadInfo = {
    uid, name: uid, namespace: 'ns', addresses, hostname: '', network: '', tunnelProtocol: 'HBONE', trustDomain: '',
    serviceAccount: 'default', node: 'node-a', clusterId: '', status: 'HEALTHY', networkMode: 'STANDARD', services: {}, ...extra,
  };
  return { name: uid, version: '1', kind: 'workload', workload: w };
}
const state = (...entries: AddressEntry[]): AddressState => ({ resources: new Map(entries.map((e) => [e.name, e])) });

/** what each fake fd is (a listener's fd, as the pod feed holds it, is a socket of its inode) */
let kinds: Map<number, FdIdentity>;
const pod = (uid: string, inode: bigint, addresses: string[], listener?: { fd: number; inode: bigint }): PodNetwork => {
  if (listener) kinds.set(listener.fd, { kind: 'socket', inode: listener.inode });
  return podNetwork(uid, inode, addresses, listener);
};
const podNetwork = (uid: string, inode: bigint, addresses: string[], listener?: { fd: number; inode: bigint }): PodNetwork => ({
  uid, name: uid, namespace: 'ns', serviceAccount: 'default', netnsPath: `/proc/self/fd/${Number(inode)}`, netnsInode: inode, addresses,
  confirmed: true,
  pending: false,
  listeners: listener ? [{ fd: listener.fd, family: 6, address: '::', port: 15008, v6Only: false, inode: listener.inode, via: 'discovery' }] : [],
  listenersLost: false,
});

let commits: Intent[][];
let results: CommitResult[];
let open: Set<number>;
let nextFd: number;
let warnings: string[];
let errors: string[];
let publisher: MeshPublisher | undefined;
let registry: SocketHandles;

const sink: IntentSink = {
  publish: () => undefined,
  commit: async (intents) => {
    commits.push([...intents]);
    return results.shift() ?? { ok: true, report: { added: intents.length, updated: 0, removed: 0 } };
  },
  publishChange: () => undefined, // the publisher commits snapshots only
  commitChange: async () => ({ ok: false, reason: 'invalid', error: 'not used' }),
};
const logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (_f: object, m: string) => void warnings.push(m),
  error: (_f: object, m: string) => void errors.push(m),
};
const closeFd = (fd: number) => {
  if (!open.delete(fd)) throw new Error(`fd ${fd} closed twice`);
};
const fresh = (identity: FdIdentity): number => {
  const fd = nextFd++;
  open.add(fd);
  kinds.set(fd, identity);
  return fd;
};
// the pod's netns path is /proc/self/fd/<inode> (see podNetwork)
const deps = { openNetns: (path: string) => fresh({ kind: 'netns', inode: BigInt(path.split('/').at(-1)!) }), closeFd };
const newRegistry = () =>
  new SocketHandles({
    dup: (fd) => fresh(kinds.get(fd) ?? { kind: 'other', inode: 0n }),
    close: closeFd,
    identify: (fd) => kinds.get(fd) ?? { kind: 'other', inode: 0n },
  });
const settle = () => new Promise((r) => setImmediate(r));

function create(podSyncWarnMs?: number, intentSchemas: ReadonlyMap<string, z.ZodType> = schemas) {
  publisher = new MeshPublisher({ sink, logger, intentSchemas, socketHandles: registry, ...(podSyncWarnMs !== undefined ? { podSyncWarnMs } : {}) }, deps);
  publisher.start();
  return publisher;
}

beforeEach(() => {
  commits = [];
  results = [];
  open = new Set();
  kinds = new Map();
  nextFd = 50;
  registry = newRegistry();
  warnings = [];
  errors = [];
});
afterEach(() => {
  publisher?.stop();
  publisher = undefined;
  registry.closeAll();
  vi.useRealTimers();
});

describe('MeshPublisher', () => {
  it('waits for Istiod and for the pods to sync, then commits members and pods naming registered handles', async () => {
    const p = create(60_000);
    p.setPods({ pods: [pod('a', 7n, ['10.0.0.1'])], synced: false });
    p.setAddressState(state(workload('w', ['10.0.0.1'])));
    await settle();
    expect(commits).toEqual([]);
    p.setPods({ pods: [pod('a', 7n, ['10.0.0.1'], { fd: 9, inode: 900n })], synced: true });
    await settle();
    expect(commits).toEqual([
      [
        { kind: 'mesh.member', address: '10.0.0.1' },
        { kind: 'sklookup.pod', uid: 'a', netnsHandle: 'h:1', addresses: ['10.0.0.1'], socketHandles: ['h:2'] },
      ],
    ]);
    // its own netns fd (50) closed once registered; the registry's duplicates open
    expect([...open]).toEqual([51, 52]);
    expect([registry.fd('h:1'), registry.fd('h:2')]).toEqual([51, 52]);
    // the same state again: nothing committed, the same handles kept
    p.setPods({ pods: [pod('a', 7n, ['10.0.0.1'], { fd: 9, inode: 900n })], synced: true });
    p.setAddressState(state(workload('w', ['10.0.0.1'])));
    await settle();
    expect(commits).toHaveLength(1);
    expect(p.heldHandles).toBe(2);
  });

  it('waits for the pods however long it takes (members alone would detach pinned pods), warning after podSyncWarnMs', async () => {
    vi.useFakeTimers();
    const p = create(1000);
    p.setAddressState(state(workload('w', ['10.0.0.1'])));
    await vi.advanceTimersByTimeAsync(1000);
    expect(warnings).toEqual([expect.stringMatching(/^the pods \(ZDS\) have not synced yet .*nothing is published until they do/)]);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(commits).toEqual([]);
    p.setPods({ pods: [pod('a', 7n, ['10.0.0.1'])], synced: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(commits).toEqual([
      [
        { kind: 'mesh.member', address: '10.0.0.1' },
        { kind: 'sklookup.pod', uid: 'a', netnsHandle: 'h:1', addresses: ['10.0.0.1'] },
      ],
    ]);
  });

  it('a pod whose listeners were lost (the proxy is gone) is published with socketHandles: [], and the old listener is closed after the commit', async () => {
    const p = create(0);
    p.setAddressState(state(workload('w', ['10.0.0.1'])));
    p.setPods({ pods: [pod('a', 7n, ['10.0.0.1'], { fd: 9, inode: 900n })], synced: true });
    await settle();
    expect(commits.at(-1)?.[1]).toMatchObject({ socketHandles: ['h:2'] });
    p.setPods({ pods: [{ ...pod('a', 7n, ['10.0.0.1']), listenersLost: true }], synced: true });
    await settle();
    expect(commits.at(-1)?.[1]).toEqual({ kind: 'sklookup.pod', uid: 'a', netnsHandle: 'h:1', addresses: ['10.0.0.1'], socketHandles: [] });
    expect([...open]).toEqual([51]);
    // the proxy is back: its new listener, under a new handle
    p.setPods({ pods: [pod('a', 7n, ['10.0.0.1'], { fd: 12, inode: 1200n })], synced: true });
    await settle();
    expect(commits.at(-1)?.[1]).toMatchObject({ socketHandles: ['h:3'] });
  });

  it('builds each snapshot from what changed: every intent checked once, unchanged members not re-checked, net-zero changes not committed', async () => {
    const checked: string[] = [];
    const counting = new Map<string, z.ZodType>([
      ['mesh.member', z.strictObject({ address: z.string().refine((a) => (checked.push(a), true)) })],
    ]);
    const p = create(undefined, counting);
    const many = Array.from({ length: 50 }, (_, i) => workload(`w${i}`, [`10.1.0.${i}`]));
    let s = state(...many);
    p.setAddressState(s);
    await settle();
    expect(commits).toHaveLength(1);
    expect(commits[0]).toHaveLength(50);
    expect(checked).toHaveLength(50);
    // one more workload, named by the xDS change: only it is checked; the snapshot is still complete
    const next: AddressState = { resources: new Map([...s.resources, ['w50', workload('w50', ['10.1.0.50'])]]) };
    p.setAddressState(next, { previous: s, upserted: ['w50'], removed: [] });
    s = next;
    await settle();
    expect(checked).toHaveLength(51);
    expect(commits).toHaveLength(2);
    expect(commits[1].map((i) => i.address)).toEqual([...many.map((_, i) => `10.1.0.${i}`), '10.1.0.50']);
    // Istiod sends w3 again (same addresses, new entry): nothing changes, nothing is committed
    const again: AddressState = { resources: new Map([...s.resources, ['w3', workload('w3', ['10.1.0.3'])]]) };
    p.setAddressState(again, { previous: s, upserted: ['w3'], removed: [] });
    await settle();
    expect(commits).toHaveLength(2);
    // two workloads share an address: it stays a member until both are gone
    const shared: AddressState = { resources: new Map([...again.resources, ['dup', workload('dup', ['10.1.0.7'])]]) };
    p.setAddressState(shared); // no change given: compared entry by entry
    await settle();
    expect(commits).toHaveLength(2);
    const without = new Map(shared.resources);
    without.delete('w7');
    p.setAddressState({ resources: without });
    await settle();
    expect(commits).toHaveLength(2);
    without.delete('dup');
    p.setAddressState({ resources: new Map(without) });
    await settle();
    expect(commits).toHaveLength(3);
    expect(commits[2].map((i) => i.address)).not.toContain('10.1.0.7');
    expect(checked).toHaveLength(51);
  });

  it('a member the plugin schema refuses blocks publishing until it goes', async () => {
    const strict = new Map<string, z.ZodType>([['mesh.member', z.strictObject({ address: z.string().refine((a) => !a.startsWith('10.9.'), 'not in 10.9/16') })]]);
    const p = create(undefined, strict);
    p.setAddressState(state(workload('w', ['10.0.0.1'])));
    await settle();
    expect(commits).toHaveLength(1);
    p.setAddressState(state(workload('w', ['10.0.0.1']), workload('bad', ['10.9.0.1'])));
    await settle();
    expect(commits).toHaveLength(1);
    expect(errors).toContain('mesh intents rejected by the plugin schemas; not published');
    p.setAddressState(state(workload('w', ['10.0.0.1']), workload('x', ['10.0.0.2'])));
    await settle();
    expect(commits.at(-1)).toEqual([
      { kind: 'mesh.member', address: '10.0.0.1' },
      { kind: 'mesh.member', address: '10.0.0.2' },
    ]);
  });

  it('closes a pod\'s handles exactly when a commit without the pod succeeded; a refused one keeps them open', async () => {
    const p = create(0);
    p.setAddressState(state(workload('w', ['10.0.0.1'])));
    p.setPods({ pods: [pod('a', 7n, ['10.0.0.1'], { fd: 9, inode: 900n }), pod('b', 8n, ['10.0.0.2'], { fd: 10, inode: 1000n })], synced: true });
    await settle();
    expect([...open].sort()).toEqual([51, 52, 54, 55]);
    const bHandles = [commits[0][2].netnsHandle, ...(commits[0][2].socketHandles as string[])] as string[];
    expect(bHandles).toEqual(['h:3', 'h:4']);
    // b goes, but the agent refuses: b's handles stay open (the agent re-applies the snapshot naming them)
    results.push({ ok: false, reason: 'failed', error: 'kernel said no' });
    p.setPods({ pods: [pod('a', 7n, ['10.0.0.1'], { fd: 9, inode: 900n })], synced: true });
    await settle();
    expect(commits).toHaveLength(2);
    expect(errors).toContain('mesh intents refused; the previous ones stay in force');
    expect([...open].sort()).toEqual([51, 52, 54, 55]);
    expect(bHandles.map((h) => registry.fd(h))).toEqual([54, 55]);
    // the next change (even one that changes nothing) tries again; success closes b's handles
    p.setPods({ pods: [pod('a', 7n, ['10.0.0.1'], { fd: 9, inode: 900n })], synced: true });
    await settle();
    expect(commits).toHaveLength(3);
    expect(commits[2].map((i) => i.uid ?? i.address)).toEqual(['10.0.0.1', 'a']);
    expect([...open].sort()).toEqual([51, 52]);
    for (const h of bHandles) expect(() => registry.fd(h)).toThrow(/it was closed/);
  });

  it('a new listener replaces the held one after the commit; stop releases everything, the agent\'s registry closes what is in force', async () => {
    const p = create(0);
    p.setAddressState(state(workload('w', ['10.0.0.1'])));
    p.setPods({ pods: [pod('a', 7n, ['10.0.0.1'])], synced: true });
    await settle();
    expect(commits.at(-1)).toEqual([
      { kind: 'mesh.member', address: '10.0.0.1' },
      { kind: 'sklookup.pod', uid: 'a', netnsHandle: 'h:1', addresses: ['10.0.0.1'] },
    ]);
    p.setPods({ pods: [pod('a', 7n, ['10.0.0.1'], { fd: 9, inode: 900n })], synced: true });
    await settle();
    p.setPods({ pods: [pod('a', 7n, ['10.0.0.1'], { fd: 11, inode: 1100n })], synced: true });
    await settle();
    expect(commits.at(-1)?.[1]).toMatchObject({ netnsHandle: 'h:1', socketHandles: ['h:3'] });
    expect([...open].sort()).toEqual([51, 53]);
    p.stop();
    expect(p.heldHandles).toBe(0);
    expect([...open].sort()).toEqual([51, 53]); // the snapshot in force names them
    registry.closeAll();
    expect(open.size).toBe(0);
  });

  it('a pod whose netns is no longer the one learned, or without a registry, is left out with a warning; nothing stays open', async () => {
    const p = create(0);
    p.setAddressState(state(workload('w', ['10.0.0.1'])));
    // the path now names another namespace (inode 8, not 7)
    p.setPods({ pods: [{ ...pod('a', 8n, ['10.0.0.1']), netnsInode: 7n }, pod('c', 9n, ['10.0.0.3'])], synced: true });
    await settle();
    expect(commits.at(-1)?.filter((i) => i.kind === 'sklookup.pod').map((i) => i.uid)).toEqual(['c']);
    expect(warnings).toEqual(['pods left out of the sk_lookup intents']);
    expect(open.size).toBe(1); // c's netns
    p.stop();
    publisher = new MeshPublisher({ sink, logger, intentSchemas: schemas, podSyncWarnMs: 0 }, deps);
    publisher.start();
    publisher.setAddressState(state(workload('w', ['10.0.0.1'])));
    publisher.setPods({ pods: [pod('d', 10n, ['10.0.0.4'])], synced: true });
    await settle();
    expect(commits.at(-1)?.some((i) => i.kind === 'sklookup.pod')).toBe(false);
    expect(warnings).toHaveLength(2);
  });

  it('leaves out pods that cannot be published, with a warning, and keeps publishing the rest', async () => {
    const p = create(0);
    p.setAddressState(state(workload('w', ['10.0.0.1'])));
    p.setPods({ pods: [pod('a', 7n, ['10.0.0.1']), pod('b', 8n, ['10.0.0.1']), pod('c', 9n, ['10.0.0.3']), pod('d', 10n, [])], synced: true });
    await settle();
    expect(commits.at(-1)?.filter((i) => i.kind === 'sklookup.pod').map((i) => i.uid)).toEqual(['c']);
    expect(warnings).toEqual(['pods left out of the sk_lookup intents']);
  });

  it('publishes no sklookup.pod when no plugin consumes it, and does not wait for pods', async () => {
    publisher = new MeshPublisher({ sink, logger, intentSchemas: new Map([['mesh.member', z.strictObject({ address: z.string() })]]), podSyncWarnMs: 60_000 }, deps);
    publisher.start();
    publisher.setAddressState(state(workload('w', ['10.0.0.1'])));
    publisher.setPods({ pods: [pod('a', 7n, ['10.0.0.1'])], synced: false });
    await settle();
    expect(commits).toEqual([[{ kind: 'mesh.member', address: '10.0.0.1' }]]);
    expect(open.size).toBe(0);
  });
});

describe('istiod source config with zds', () => {
  it('fills the zds defaults and names problems', () => {
    const base = { address: 'istiod:15012', node: { id: 'ztunnel~10.0.0.5~bpfsteer-test.istio-system~istio-system.svc.cluster.local' } };
    const parsed = istiodSourceConfigSchema.parse({ ...base, zds: { listenPath: '/run/x.sock' } });
    expect(parsed.zds).toEqual({
      listenPath: '/run/x.sock',
      upstreamPath: '/var/run/ztunnel/ztunnel.sock',
      backoff: { initialMs: 200, maxMs: 10_000 },
      maxMessageBytes: 65536,
      hbone: { hbonePort: 15008, discovery: true, retry: { initialMs: 100, maxMs: 5000, attempts: 30 }, pendingRetryMs: 5000 },
      syncWarnMs: 10_000,
    });
    const bad = istiodSourceConfigSchema.safeParse({ ...base, zds: { listenPath: '/var/run/ztunnel/ztunnel.sock', hbone: { hbonePort: 0 }, bogus: 1 } });
    expect(bad.success).toBe(false);
    const text = JSON.stringify(bad.error?.issues);
    expect(text).toMatch(/bogus/);
    const bad2 = istiodSourceConfigSchema.safeParse({ ...base, zds: { listenPath: '/var/run/ztunnel/ztunnel.sock' } });
    expect(JSON.stringify(bad2.error?.issues)).toMatch(/must differ from upstreamPath/);
    const bad3 = istiodSourceConfigSchema.safeParse({ ...base, zds: { listenPath: '/a', hbone: { hbonePort: 0 } } });
    expect(JSON.stringify(bad3.error?.issues)).toMatch(/hbonePort/);
    const bad4 = istiodSourceConfigSchema.safeParse({ ...base, zds: { listenPath: '/a', syncTimeoutMs: 1000 } });
    expect(JSON.stringify(bad4.error?.issues)).toMatch(/syncTimeoutMs is no longer accepted: .*use syncWarnMs/);
  });
});
