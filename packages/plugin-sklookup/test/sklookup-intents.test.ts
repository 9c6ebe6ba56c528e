import { describe, expect, it } from 'vitest';
import type { DesiredState, Intent } from '@bpfsteer/agent-kernel';
import { InvalidArgumentError } from '@bpfsteer/core-bpf';
import { MESH_MEMBER_KIND, SKLOOKUP_POD_KIND } from '@bpfsteer/contract-mesh';
import { readDesiredMesh } from '../src/sklookup-intents.js';
import { MeshKeyCache } from '../src/mesh-address.js';

const cap = { maxMembers: 4, maxPods: 2, maxPodAddresses: 3 };
const member = (address: string): Intent => ({ kind: MESH_MEMBER_KIND, address });
const pod = (uid: string, addresses: string[], extra: Record<string, unknown> = {}): Intent => ({
  kind: SKLOOKUP_POD_KIND,
  uid,
  netns: `/var/run/netns/${uid}`,
  addresses,
  ...extra,
});
/** a resolver of a registry holding h:1..h:20 as fds 101..120 */
const handles = {
  fd: (h: string): number => {
    const n = Number(h.slice(2));
    if (!/^h:\d+$/.test(h) || n < 1 || n > 20) throw new Error(`socket handle ${JSON.stringify(h)} not found: it was closed`);
    return 100 + n;
  },
};
const state = (...intents: Intent[]): DesiredState => {
  const m = new Map<string, Intent[]>();
  for (const i of intents) m.set(i.kind, [...(m.get(i.kind) ?? []), i]);
  return m;
};

describe('readDesiredMesh', () => {
  it('normalises addresses to mesh keys, dedupes and sorts', () => {
    const mesh = readDesiredMesh(
      state(member('10.0.0.1'), member('::ffff:10.0.0.1'), member('fd00::1'), pod('a', ['fd00::2', '10.0.0.2', '10.0.0.2'], { socketHandles: ['h:9', 'h:10'] })),
      cap,
      undefined,
      handles,
    );
    expect([...mesh.members]).toEqual(['::ffff:10.0.0.1', 'fd00::1']);
    expect(mesh.pods.get('a')).toEqual({
      uid: 'a', netns: '/var/run/netns/a', addresses: ['::ffff:10.0.0.2', 'fd00::2'], socketFds: [109, 110], socketHandles: ['h:9', 'h:10'],
    });
  });
  it('resolves a netnsHandle to the path of the registry\'s fd; socketHandles absent (keep the entries) or empty (none)', () => {
    const mesh = readDesiredMesh(
      state(pod('a', ['10.0.0.1'], { netns: undefined, netnsHandle: 'h:3' }), pod('b', ['10.0.0.2'], { socketHandles: [] })),
      cap,
      undefined,
      handles,
    );
    expect(mesh.pods.get('a')).toEqual({ uid: 'a', netns: '/proc/self/fd/103', addresses: ['::ffff:10.0.0.1'] });
    expect(mesh.pods.get('b')?.socketFds).toEqual([]);
  });
  it('with a MeshKeyCache: the same result, addresses parsed once, forgotten two states later', () => {
    const keys = new MeshKeyCache();
    const s1 = state(member('10.0.0.1'), member('fd00::1'), pod('a', ['10.0.0.2']));
    const first = readDesiredMesh(s1, cap, keys);
    keys.rotate();
    expect(readDesiredMesh(s1, cap, keys)).toEqual(first);
    expect(readDesiredMesh(s1, cap)).toEqual(first);
    keys.rotate();
    expect(keys.size).toBe(3);
    readDesiredMesh(state(member('10.0.0.9')), cap, keys);
    keys.rotate();
    readDesiredMesh(state(member('10.0.0.9')), cap, keys);
    keys.rotate();
    expect(keys.size).toBe(1);
    expect(() => readDesiredMesh(state(member('10.0.0.300')), cap, keys)).toThrow(/mesh.member intent #1: address "10.0.0.300" is not an IP address/);
  });
  it('an empty state is an empty mesh', () => {
    const mesh = readDesiredMesh(new Map(), cap);
    expect(mesh.members.size).toBe(0);
    expect(mesh.pods.size).toBe(0);
  });
  it.each<[Intent[], RegExp]>([
    [[member('10.0.0.300')], /mesh.member intent #1: address "10.0.0.300" is not an IP address/],
    [[member('1.1.1.1'), member('1.1.1.2'), member('1.1.1.3'), member('1.1.1.4'), member('1.1.1.5')], /5 mesh member addresses exceed the capacity of 4 \(maxMembers\)/],
    [[pod('a', ['10.0.0.1']), pod('a', ['10.0.0.2'])], /sklookup.pod intent #2: pod uid "a" is listed twice/],
    [[pod('a', ['10.0.0.1']), pod('b', ['::ffff:10.0.0.1'])], /address ::ffff:10.0.0.1 of pod "b" also belongs to pod "a"/],
    [[pod('a', [])], /pod a\): addresses must list at least one address/],
    [[pod('a', ['x'])], /pod a\): address "x" is not an IP address/],
    [[pod('a', ['10.0.0.1'], { netns: '' })], /netns must be a non-empty path/],
    [[pod('a', ['10.0.0.1'], { socketFd: 4 })], /socketFds\/socketFd \(fd numbers\) are no longer accepted; name the listeners by socketHandles/],
    [[pod('a', ['10.0.0.1'], { socketFds: [4] })], /no longer accepted/],
    [[pod('a', ['10.0.0.1'], { socketHandles: 'h:4' })], /socketHandles must be a list of socket handles/],
    [[pod('a', ['10.0.0.1'], { socketHandles: [4] })], /socket handle must be a socket handle \("h:<n>"\), got 4/],
    [[pod('a', ['10.0.0.1'], { socketHandles: ['h:4', 'h:5', 'h:6'] })], /socketHandles lists 3 listeners; at most 2 \(one per address family\)/],
    [[pod('a', ['10.0.0.1'], { socketHandles: ['h:4', 'h:4'] })], /socketHandles lists a handle twice/],
    [[pod('a', ['10.0.0.1'], { socketHandles: ['h:99'] })], /pod a\): socket handle h:99: socket handle "h:99" not found: it was closed/],
    [[pod('a', ['10.0.0.1'], { netns: undefined, netnsHandle: 'h:99' })], /pod a\): netnsHandle h:99: .*not found/],
    [[pod('a', ['10.0.0.1'], { netnsHandle: 'h:1' })], /give netnsHandle or netns, exactly one of them/],
    [[pod('a', ['10.0.0.1'], { uid: 'x'.repeat(300) })], /too long/],
    [[pod('a', ['10.0.0.1']), pod('b', ['10.0.0.2']), pod('c', ['10.0.0.3'])], /3 pods exceed the capacity of 2 \(maxPods\)/],
    [[pod('a', ['10.0.0.1', '10.0.0.2']), pod('b', ['10.0.0.3', 'fd00::3'])], /4 pod addresses exceed the capacity of 3/],
  ])('rejects %#', (intents, why) => {
    expect(() => readDesiredMesh(state(...intents), cap, undefined, handles)).toThrow(InvalidArgumentError);
    expect(() => readDesiredMesh(state(...intents), cap, undefined, handles)).toThrow(why);
  });
  it('a handle without a registry is refused, naming the cause', () => {
    expect(() => readDesiredMesh(state(pod('a', ['10.0.0.1'], { socketHandles: ['h:1'] })), cap)).toThrow(
      /socket handle h:1: the agent gave this plugin no socket-handle registry \(Tokens.SocketHandles\)/,
    );
  });
});
