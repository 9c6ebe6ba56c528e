// PodRegistry: the pods learned from ZDS and the netns fds they own (fds are plain numbers here).
import { describe, expect, it } from 'vitest';
import { PodRegistry, type PodRemovalReason } from '../src/zds/pod-registry.js';

function setup() {
  const closed: number[] = [];
  const events: string[] = [];
  const reg = new PodRegistry({ closeFd: (fd) => closed.push(fd) });
  reg.on('added', (p) => events.push(`added ${p.uid} fd${p.netnsFd}`));
  reg.on('confirmed', (p) => events.push(`confirmed ${p.uid}`));
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

  it('forgets a pod the proxy refused', () => {
    const { reg, closed } = setup();
    reg.add(pod('a'), 10, 100n);
    expect(reg.reject('a', 1n)).toBe(false);
    expect(reg.reject('a', 100n)).toBe(true);
    expect(reg.size).toBe(0);
    expect(closed).toEqual([10]);
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
