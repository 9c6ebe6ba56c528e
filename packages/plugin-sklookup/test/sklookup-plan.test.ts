import { describe, expect, it } from 'vitest';
import { adoptPods, planSklookup, socketFor, type AppliedPod, type KernelMesh, type ResolvedPod, type ResolvedSocket } from '../src/sklookup-plan.js';

const A = '::ffff:10.0.0.1';
const B = '::ffff:10.0.0.2';
const C = '::ffff:10.0.0.3';
const V6 = 'fd00::1';

const empty: KernelMesh = { members: new Set(), podAddresses: new Map(), sockets: new Map(), pods: new Map() };

function kernel(k: Partial<{ members: string[]; podAddresses: [string, number][]; sockets: [string, bigint][]; pods: AppliedPod[] }>): KernelMesh {
  return {
    members: new Set(k.members ?? []),
    podAddresses: new Map(k.podAddresses ?? []),
    sockets: new Map(k.sockets ?? []),
    pods: new Map((k.pods ?? []).map((p) => [p.uid, p])),
  };
}
function pods(...list: ResolvedPod[]): Map<string, ResolvedPod> {
  return new Map(list.map((p) => [p.uid, p]));
}
/** `sock`: one dual-stack listener, or the listeners themselves */
const pod = (uid: string, addresses: string[], netnsIno: bigint, sock?: { fd: number; cookie: bigint } | ResolvedSocket[]): ResolvedPod => ({
  uid,
  netns: `/ns/${uid}`,
  addresses,
  netnsIno,
  ...(sock === undefined ? {} : { socketFds: [], sockets: Array.isArray(sock) ? sock : [dual(sock.fd, sock.cookie)] }),
});
const dual = (fd: number, cookie: bigint): ResolvedSocket => ({ fd, cookie, family: 6, v6Only: false });
const only6 = (fd: number, cookie: bigint): ResolvedSocket => ({ fd, cookie, family: 6, v6Only: true });
const only4 = (fd: number, cookie: bigint): ResolvedSocket => ({ fd, cookie, family: 4, v6Only: false });
const applied = (uid: string, slot: number, addresses: string[], netnsIno?: bigint): AppliedPod => ({
  uid,
  slot,
  addresses,
  ...(netnsIno !== undefined ? { netns: `/ns/${uid}`, netnsIno } : {}),
});
/** the kernel after a plan ran (what the dataplane's execution produces) */
function after(k: KernelMesh, p: ReturnType<typeof planSklookup>): KernelMesh {
  const members = new Set(k.members);
  p.removeMembers.forEach((m) => members.delete(m));
  p.addMembers.forEach((m) => members.add(m));
  const podAddresses = new Map(k.podAddresses);
  p.deletePodAddresses.forEach((a) => podAddresses.delete(a));
  p.setPodAddresses.forEach(([a, s]) => podAddresses.set(a, s));
  const sockets = new Map(k.sockets);
  p.deleteSockets.forEach((a) => sockets.delete(a));
  p.setSockets.forEach((w) => sockets.set(w.address, w.cookie));
  return { members, podAddresses, sockets, pods: p.next };
}

describe('planSklookup', () => {
  const first = planSklookup(empty, pods(pod('b', [B, V6], 20n, { fd: 7, cookie: 700n }), pod('a', [A], 10n)), new Set([A, B, V6]), 8);

  it('adds members, gives new pods the lowest slots (by uid), fills maps, attaches', () => {
    expect(first.addMembers).toEqual([A, B, V6]);
    expect(first.resetCounters).toEqual([1, 2]);
    expect(first.setPodAddresses).toEqual([[A, 1], [B, 2], [V6, 2]]);
    expect(first.setSockets).toEqual([
      { address: B, uid: 'b', fd: 7, cookie: 700n },
      { address: V6, uid: 'b', fd: 7, cookie: 700n },
    ]);
    expect(first.links).toEqual([
      { kind: 'attach', uid: 'a', slot: 1, netns: '/ns/a', netnsIno: 10n },
      { kind: 'attach', uid: 'b', slot: 2, netns: '/ns/b', netnsIno: 20n },
    ]);
    expect(first.detach).toEqual([]);
    expect(first.report).toEqual({ added: 5, updated: 0, removed: 0 });
    expect(first.next.get('b')).toEqual({ uid: 'b', slot: 2, netns: '/ns/b', netnsIno: 20n, addresses: [B, V6] });
  });

  const k1 = after(empty, first);
  const same = () => pods(pod('a', [A], 10n), pod('b', [B, V6], 20n, { fd: 7, cookie: 700n }));

  it('is idempotent: the same desired state plans nothing', () => {
    const p = planSklookup(k1, same(), new Set([A, B, V6]), 8);
    expect(p).toMatchObject({
      detach: [],
      deleteSockets: [],
      deletePodAddresses: [],
      removeMembers: [],
      addMembers: [],
      resetCounters: [],
      setPodAddresses: [],
      setSockets: [],
      links: [],
      report: { added: 0, updated: 0, removed: 0 },
    });
  });

  it('a workload leaving the mesh: only its member entry goes', () => {
    const p = planSklookup(k1, same(), new Set([A, V6]), 8);
    expect(p.removeMembers).toEqual([B]);
    expect(p.addMembers).toEqual([]);
    expect(p.links).toEqual([]);
    expect(p.report).toEqual({ added: 0, updated: 0, removed: 1 });
  });

  it('a removed pod: link detached, its addresses and sockets deleted', () => {
    const p = planSklookup(k1, pods(pod('a', [A], 10n)), new Set([A, B, V6]), 8);
    expect(p.detach.map((d) => d.uid)).toEqual(['b']);
    expect(p.deletePodAddresses).toEqual([B, V6]);
    expect(p.deleteSockets).toEqual([B, V6]);
    expect(p.report).toEqual({ added: 0, updated: 0, removed: 1 });
    expect([...p.next.keys()]).toEqual(['a']);
  });

  it('changed addresses and a new socket update the pod in place', () => {
    const p = planSklookup(k1, pods(pod('a', [A], 10n), pod('b', [C], 20n, { fd: 8, cookie: 800n })), new Set([A, B, V6]), 8);
    expect(p.setPodAddresses).toEqual([[C, 2]]);
    expect(p.deletePodAddresses).toEqual([B, V6]);
    expect(p.setSockets).toEqual([{ address: C, uid: 'b', fd: 8, cookie: 800n }]);
    expect(p.deleteSockets).toEqual([B, V6]);
    expect(p.links).toEqual([]);
    expect(p.report).toEqual({ added: 0, updated: 1, removed: 0 });
  });

  it('a replaced socket (other cookie) is rewritten', () => {
    const p = planSklookup(k1, pods(pod('a', [A], 10n), pod('b', [B, V6], 20n, { fd: 9, cookie: 900n })), new Set([A, B, V6]), 8);
    expect(p.setSockets.map((w) => [w.address, w.cookie])).toEqual([[B, 900n], [V6, 900n]]);
    expect(p.deleteSockets).toEqual([]);
    expect(p.report.updated).toBe(1);
  });

  it('a pod whose namespace changed gets a new link in the same slot', () => {
    const p = planSklookup(k1, pods(pod('a', [A], 11n), pod('b', [B, V6], 20n, { fd: 7, cookie: 700n })), new Set([A, B, V6]), 8);
    expect(p.detach.map((d) => d.uid)).toEqual(['a']);
    expect(p.links).toEqual([{ kind: 'attach', uid: 'a', slot: 1, netns: '/ns/a', netnsIno: 11n }]);
    expect(p.resetCounters).toEqual([]);
    expect(p.report).toEqual({ added: 0, updated: 1, removed: 0 });
  });

  it('without socketFd a pod keeps the sockets of its own addresses, not those of another pod', () => {
    const k = kernel({
      podAddresses: [[A, 1], [B, 2]],
      sockets: [[A, 100n], [B, 200n]],
      pods: [applied('a', 1, [A], 10n), applied('b', 2, [B], 20n)],
    });
    // b is gone, a now also owns B: A's socket stays, B's (b's listener) goes
    const p = planSklookup(k, pods(pod('a', [A, B], 10n)), new Set(), 8);
    expect(p.deleteSockets).toEqual([B]);
    expect(p.setSockets).toEqual([]);
    expect(p.setPodAddresses).toEqual([[B, 1]]);
    expect(p.deletePodAddresses).toEqual([]);
  });

  it('separate IPv4 and IPv6 listeners: each address gets the listener of its family', () => {
    const p = planSklookup(k1, pods(pod('a', [A], 10n), pod('b', [B, V6], 20n, [only6(8, 800n), only4(9, 900n)])), new Set([A, B, V6]), 8);
    expect(p.setSockets).toEqual([
      { address: B, uid: 'b', fd: 9, cookie: 900n },
      { address: V6, uid: 'b', fd: 8, cookie: 800n },
    ]);
    expect(p.deleteSockets).toEqual([]);
    expect(p.report).toEqual({ added: 0, updated: 1, removed: 0 });
  });

  it('an address without a listener of its family loses its entry', () => {
    // only a v6-only listener: B (IPv4) can be assigned nothing
    const p = planSklookup(k1, pods(pod('a', [A], 10n), pod('b', [B, V6], 20n, [only6(8, 700n)])), new Set([A, B, V6]), 8);
    expect(p.setSockets).toEqual([]); // V6 keeps cookie 700
    expect(p.deleteSockets).toEqual([B]);
    expect(p.report.updated).toBe(1);
  });

  it('no listener (socketFds: []): the pod loses its socket entries, keeps its link and addresses', () => {
    const p = planSklookup(k1, pods(pod('a', [A], 10n), pod('b', [B, V6], 20n, [])), new Set([A, B, V6]), 8);
    expect(p.deleteSockets).toEqual([B, V6]);
    expect(p.setSockets).toEqual([]);
    expect(p.deletePodAddresses).toEqual([]);
    expect(p.detach).toEqual([]);
    expect(p.links).toEqual([]);
    expect(p.report).toEqual({ added: 0, updated: 1, removed: 0 });
    // and once the entries are gone, the same state plans nothing
    expect(planSklookup(after(k1, p), pods(pod('a', [A], 10n), pod('b', [B, V6], 20n, [])), new Set([A, B, V6]), 8).report).toEqual({
      added: 0,
      updated: 0,
      removed: 0,
    });
  });

  it('adopted pods (namespace not yet checked) are re-checked, not counted as changes', () => {
    const k = kernel({ podAddresses: [[A, 3]], sockets: [[A, 100n]], pods: [applied('a', 3, [A])] });
    const p = planSklookup(k, pods(pod('a', [A], 10n)), new Set(), 8);
    expect(p.links).toEqual([{ kind: 'adopt', uid: 'a', slot: 3, netns: '/ns/a', netnsIno: 10n }]);
    expect(p.detach).toEqual([]);
    expect(p.deleteSockets).toEqual([]);
    expect(p.report).toEqual({ added: 0, updated: 0, removed: 0 });
    expect(p.next.get('a')).toMatchObject({ slot: 3, netnsIno: 10n });
  });

  it('entries of no pod (left by a crash) are removed', () => {
    const k = kernel({ podAddresses: [[C, 5]], sockets: [[C, 5n]] });
    const p = planSklookup(k, new Map(), new Set(), 8);
    expect(p.deletePodAddresses).toEqual([C]);
    expect(p.deleteSockets).toEqual([C]);
  });

  it('new pods avoid the slots of leaving pods while others are free', () => {
    const k = kernel({ pods: [applied('keep', 1, [], 1n), applied('gone', 2, [], 2n)] });
    const roomy = planSklookup(k, pods(pod('keep', [], 1n), pod('new', [C], 3n)), new Set(), 8);
    expect(roomy.next.get('new')?.slot).toBe(3);
    const tight = planSklookup(k, pods(pod('keep', [], 1n), pod('new', [C], 3n)), new Set(), 2);
    expect(tight.next.get('new')?.slot).toBe(2);
    expect(tight.resetCounters).toEqual([2]);
  });
});

describe('socketFor', () => {
  const v4 = only4(1, 1n);
  const v6 = only6(2, 2n);
  const ds = dual(3, 3n);
  it.each<[string, ResolvedSocket[], ResolvedSocket | undefined]>([
    [A, [v4, v6], v4],
    [V6, [v4, v6], v6],
    [A, [ds], ds],
    [V6, [ds], ds],
    [A, [ds, v4], v4], // the listener of the address's own family first
    [A, [v6], undefined], // a v6-only listener takes no IPv4
    [V6, [v4], undefined], // an IPv4 listener takes no IPv6
    ['::ffff:0:a00:1', [v4, v6], v6], // not IPv4-mapped: an IPv6 address
    [A, [], undefined],
  ])('%s (case %#)', (address, sockets, expected) => {
    expect(socketFor(address, sockets)).toBe(expected);
  });
});

describe('adoptPods', () => {
  it('rebuilds pods from pin names and the slots of skl_pods; duplicate slots are foreign', () => {
    const { pods: adopted, foreign } = adoptPods(
      [
        { name: 'pod-1-a', uid: 'a', slot: 1 },
        { name: 'pod-2-b', uid: 'b', slot: 2 },
        { name: 'pod-2-c', uid: 'c', slot: 2 },
        { name: 'pod-9-d', uid: 'd', slot: 9 },
      ],
      new Map([[A, 1], [V6, 1], [B, 2], [C, 7]]),
      8,
    );
    expect([...adopted.values()]).toEqual([
      { uid: 'a', slot: 1, addresses: [A, V6] },
      { uid: 'b', slot: 2, addresses: [B] },
    ]);
    expect(foreign).toEqual(['pod-2-c', 'pod-9-d']);
  });
});
