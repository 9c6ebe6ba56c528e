// PodRegistry: the pods learned from ZDS and the netns fds they own (fds are plain numbers here).
import { describe, expect, it } from 'vitest';
import { PodRegistry, type PodRemovalReason } from '../src/zds/pod-registry.js';

function setup() {
  const closed: number[] = [];
  const events: string[] = [];
  const reg = new PodRegistry({ closeFd: (fd) => closed.push(fd) });
  reg.on('added', (p) => events.push(`added ${p.uid} fd${p.netnsFd}`));
  reg.on('confirmed', (p) => events.push(`confirmed ${p.uid}`));
  reg.on('pending', (p) => events.push(`pending ${p.uid}`));
  reg.on('removed', (p, why: PodRemovalReason) => events.push(`removed ${p.uid} ${why}`));
  return { reg, closed, events };
}

const pod = (uid: string, name = uid) => ({ uid, name, namespace: 'ns', serviceAccount: 'sa' });

describe('PodRegistry', () => {
  it('adds, confirms and deletes pods, closing their fds once', () => {
    const { reg, closed, events } = setup();
    expect(reg.add(pod('a'), 10, 100n)).toBe('added');
    expect(reg.get('a')).toMatchObject({ uid: 'a', netnsFd: 10, netnsPath: '/proc/self/fd/10', netnsInode: 100n, confirmed: false });
    expect(reg.confirm('a', 999n)).toBeUndefined(); // an answer to an older Add
    expect(reg.confirm('a', 100n)).toMatchObject({ confirmed: true });
    expect(reg.del('a')).toBe(true);
    expect(reg.del('a')).toBe(false);
    expect(closed).toEqual([10]);
    expect(events).toEqual(['added a fd10', 'confirmed a', 'removed a deleted']);
  });

  it('refreshes a re-added pod with the same netns and replaces one whose netns changed', () => {
    const { reg, closed, events } = setup();
    reg.add(pod('a'), 10, 100n);
    reg.confirm('a', 100n);
    expect(reg.add(pod('a', 'renamed'), 11, 100n)).toBe('refreshed');
    expect(closed).toEqual([11]);
    expect(reg.get('a')).toMatchObject({ name: 'renamed', netnsFd: 10, confirmed: true });
    expect(reg.add(pod('a'), 12, 200n)).toBe('added');
    expect(closed).toEqual([11, 10]);
    expect(reg.get('a')).toMatchObject({ netnsFd: 12, netnsInode: 200n, confirmed: false });
    expect(events).toEqual(['added a fd10', 'confirmed a', 'removed a netns-replaced', 'added a fd12']);
  });

  it('keeps a pod the proxy refused, pending (ztunnel keeps and retries it; istio-cni does not send a snapshot Add again)', () => {
    const { reg, closed, events } = setup();
    reg.add(pod('a'), 10, 100n);
    expect(reg.reject('a', 1n)).toBeUndefined(); // another netns: not this pod
    expect(reg.reject('a', 100n)).toBe('pending');
    expect(reg.get('a')).toMatchObject({ confirmed: false, pending: true, netnsFd: 10 });
    expect(closed).toEqual([]);
    reg.confirm('a', 100n); // its listener appeared: the proxy serves it
    expect(reg.get('a')).toMatchObject({ confirmed: true, pending: false });
    expect(reg.reject('a', 100n)).toBe('confirmed'); // another proxy's refusal: the pod stays served
    expect(reg.get('a')).toMatchObject({ confirmed: true, pending: false });
    expect(events).toEqual(['added a fd10', 'pending a', 'confirmed a']);
  });

  it('overlapping snapshots of two proxy sessions: each reconciles only at its own SnapshotSent, pods added by either count for both', () => {
    const { reg, events } = setup();
    reg.add(pod('a'), 10, 100n);
    reg.add(pod('b'), 11, 101n);
    reg.beginSnapshot(1);
    reg.beginSnapshot(2);
    reg.add(pod('a'), 20, 100n); // session 1 names a
    reg.add(pod('c'), 12, 102n); // a pod added meanwhile (by either session)
    expect(reg.keep('b')).toBe(true); // session 2 names b
    events.length = 0;
    expect(reg.endSnapshot(1).map((p) => p.uid)).toEqual([]); // a, b (named by session 2 meanwhile) and c: all named
    reg.abandonSnapshot(2); // session 2 ended before its SnapshotSent: reconciles nothing
    expect(reg.inSnapshot).toBe(false);
    expect(reg.endSnapshot(2)).toEqual([]);
    expect(reg.list().map((p) => p.uid).sort()).toEqual(['a', 'b', 'c']);
  });

  it('reconciles a snapshot: pods not added or kept since beginSnapshot are removed', () => {
    const { reg, closed, events } = setup();
    reg.add(pod('a'), 10, 100n);
    reg.add(pod('b'), 11, 101n);
    reg.add(pod('c'), 12, 102n);
    events.length = 0;
    reg.beginSnapshot();
    expect(reg.inSnapshot).toBe(true);
    reg.add(pod('a'), 20, 100n); // same netns: refreshed
    expect(reg.keep('b')).toBe(true);
    expect(reg.keep('zz')).toBe(false); // unknown: nothing to keep
    expect(reg.endSnapshot().map((p) => p.uid)).toEqual(['c']);
    expect(reg.inSnapshot).toBe(false);
    expect(reg.list().map((p) => p.uid).sort()).toEqual(['a', 'b']);
    expect(closed).toEqual([20, 12]);
    expect(events).toEqual(['removed c not-in-snapshot']);
    // a SnapshotSent without a new stream removes nothing
    expect(reg.endSnapshot()).toEqual([]);
    reg.clear();
    expect(reg.size).toBe(0);
    expect(closed.sort()).toEqual([10, 11, 12, 20]);
  });
});
