// HboneListeners driven by a PodRegistry, with discovery and address reading replaced (the listener
// "sockets" are /dev/null fds here, to watch them being closed). Real discovery: the kernel tests.
import { fstatSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { HboneListeners, type PodNetwork } from '../src/zds/hbone-listeners.js';
import type { DiscoveryResult } from '../src/zds/listener-discovery.js';
import { PodRegistry } from '../src/zds/pod-registry.js';

const isOpen = (fd: number): boolean => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

const pod = (uid: string) => ({ uid, name: `n-${uid}`, namespace: 'ns', serviceAccount: 'sa' });
const stops: Array<() => void> = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
});

function setup(script: Array<'none' | 'v4' | 'throw'>, heldElsewhere: (inodes: ReadonlySet<bigint>) => ReadonlySet<bigint> = (i) => i) {
  const registry = new PodRegistry({ closeFd: () => {} });
  const calls: string[] = [];
  const handed: number[] = [];
  const discover = (netnsPath: string, port: number): DiscoveryResult => {
    calls.push(`${netnsPath}:${port}`);
    const step = script.shift() ?? 'none';
    if (step === 'throw') throw new Error('netns gone');
    if (step === 'none') return { listeners: [], problems: ['nothing listens'] };
    const fd = openSync('/dev/null', 'r');
    handed.push(fd);
    return { listeners: [{ fd, family: 4, address: '0.0.0.0', port, inode: BigInt(fd), ownerPid: 1 }], problems: [] };
  };
  const changes: PodNetwork[][] = [];
  const hl = new HboneListeners(registry, { hbonePort: 15008, retry: { initialMs: 5, maxMs: 10, attempts: 4 } }, { discover, readAddresses: () => ['10.0.0.9'], heldElsewhere });
  hl.on('change', (list) => changes.push([...list]));
  hl.start();
  stops.push(() => hl.stop());
  return { registry, hl, calls, handed, changes };
}

async function until(fn: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('HboneListeners', () => {
  it('discovers after the proxy confirmed the pod, retrying until a listener shows up', async () => {
    const { registry, hl, calls, handed, changes } = setup(['none', 'throw', 'v4']);
    registry.add(pod('a'), 50, 500n);
    await until(() => changes.length > 0);
    expect(hl.get('a')).toMatchObject({ uid: 'a', addresses: ['10.0.0.9'], confirmed: false, listeners: [], netnsPath: '/proc/self/fd/50' });
    expect(calls).toEqual([]); // not before the proxy confirmed it
    registry.confirm('a', 500n);
    await until(() => (hl.get('a')?.listeners.length ?? 0) > 0);
    expect(calls).toEqual(['/proc/self/fd/50:15008', '/proc/self/fd/50:15008', '/proc/self/fd/50:15008']);
    expect(hl.get('a')?.listeners).toEqual([{ fd: handed[0], family: 4, address: '0.0.0.0', port: 15008, inode: BigInt(handed[0]), via: 'discovery' }]);
    await until(() => (changes.at(-1)?.[0]?.listeners.length ?? 0) > 0);
    expect(changes.at(-1)?.[0]).toMatchObject({ confirmed: true, listeners: [{ via: 'discovery' }] });
    // the pod goes: its listener fd is closed
    registry.del('a');
    expect(isOpen(handed[0])).toBe(false);
    expect(hl.list()).toEqual([]);
  });

  it('gives up after the configured attempts, and tries again when asked', async () => {
    const { registry, hl, calls } = setup(['none', 'none', 'none', 'none', 'v4']);
    registry.add(pod('b'), 51, 510n);
    registry.confirm('b', 510n);
    await until(() => calls.length === 4);
    await sleep(40);
    expect(calls).toHaveLength(4);
    expect(hl.get('b')?.listeners).toEqual([]);
    hl.rediscover('b');
    expect(hl.get('b')?.listeners).toHaveLength(1);
  });

  it('closes what it holds on stop, and a listener found for a pod that left meanwhile', async () => {
    const { registry, hl, handed } = setup(['v4']);
    registry.add(pod('c'), 52, 520n);
    registry.confirm('c', 520n);
    await until(() => handed.length === 1);
    hl.stop();
    expect(isOpen(handed[0])).toBe(false);
    expect(hl.list()).toEqual([]);
  });

  it('a netns change of the same uid starts over', async () => {
    const { registry, hl, handed } = setup(['v4', 'v4']);
    registry.add(pod('d'), 53, 530n);
    registry.confirm('d', 530n);
    await until(() => handed.length === 1);
    registry.add(pod('d'), 54, 540n); // new netns: the old listener belonged to the old one
    expect(isOpen(handed[0])).toBe(false);
    expect(hl.get('d')).toMatchObject({ netnsInode: 540n, listeners: [], confirmed: false });
    registry.confirm('d', 540n);
    await until(() => handed.length === 2);
    expect(hl.get('d')?.listeners[0].fd).toBe(handed[1]);
  });

  it('lets go of listeners no other process holds (the proxy exited), marks the pod, looks again at once, and finds the new one after the next snapshot', async () => {
    const proxyHolds = new Set<bigint>();
    // after the release: four looks at once (nothing: no other proxy), then the snapshot's
    const { registry, hl, handed, changes, calls } = setup(['v4', 'none', 'none', 'none', 'none', 'v4'], (inodes) => new Set([...inodes].filter((i) => proxyHolds.has(i))));
    registry.add(pod('e'), 55, 550n);
    registry.confirm('e', 550n);
    await until(() => handed.length === 1);
    proxyHolds.add(BigInt(handed[0]));
    expect(hl.releaseOrphans()).toBe(0); // the proxy still holds it
    expect(hl.get('e')).toMatchObject({ listeners: [{ fd: handed[0] }], listenersLost: false });
    proxyHolds.clear(); // the proxy exited: only this agent holds the listener
    const seen = changes.length;
    expect(hl.releaseOrphans()).toBe(1);
    expect(isOpen(handed[0])).toBe(false);
    expect(hl.get('e')).toMatchObject({ listeners: [], listenersLost: true });
    await until(() => changes.length > seen && calls.length === 5);
    expect(changes.at(-1)?.[0]).toMatchObject({ uid: 'e', listeners: [], listenersLost: true });
    // the proxy is back: the node agent's snapshot ends, discovery retries until its listener shows up
    registry.beginSnapshot();
    registry.keep('e');
    registry.endSnapshot();
    await until(() => handed.length === 2);
    expect(hl.get('e')).toMatchObject({ listeners: [{ fd: handed[1] }], listenersLost: false });
  });

  it('a rolling update: the old proxy\'s listener goes while the new one\'s is there: the new one is taken at once', async () => {
    const proxyHolds = new Set<bigint>();
    const { registry, hl, handed } = setup(['v4', 'v4'], (inodes) => new Set([...inodes].filter((i) => proxyHolds.has(i))));
    registry.add(pod('r'), 57, 570n);
    registry.confirm('r', 570n);
    await until(() => handed.length === 1);
    expect(hl.releaseOrphans()).toBe(1); // the old proxy exited
    await until(() => handed.length === 2);
    expect(hl.get('r')).toMatchObject({ listeners: [{ fd: handed[1] }], listenersLost: false });
  });

  it('of two listeners of one family (two proxies, SO_REUSEPORT), the one of the proxy that acknowledged the pod is taken', async () => {
    const registry = new PodRegistry({ closeFd: () => {} });
    let round = 0;
    const handedOut: number[] = [];
    const discover = (_n: string, port: number): DiscoveryResult => {
      round += 1;
      const [older, newer] = [openSync('/dev/null', 'r'), openSync('/dev/null', 'r')];
      handedOut.push(older, newer);
      return {
        listeners: [
          { fd: older, family: 4, address: '0.0.0.0', port, inode: 900n, ownerPid: 1 }, // the old proxy's (a higher inode: another CPU's batch)
          ...(round > 1 ? [{ fd: newer, family: 4 as const, address: '0.0.0.0', port, inode: 100n, ownerPid: 2 }] : []),
        ],
        problems: [],
      };
    };
    const hl = new HboneListeners(registry, {}, { discover, readAddresses: () => [], heldElsewhere: (i) => i });
    hl.start();
    stops.push(() => hl.stop());
    registry.add(pod('t'), 58, 580n);
    registry.confirm('t', 580n, 1); // the old proxy
    await until(() => hl.get('t')?.listeners[0]?.inode === 900n);
    registry.confirm('t', 580n, 2); // the new one acknowledged the pod in its snapshot
    await until(() => hl.get('t')?.listeners[0]?.inode === 100n);
    expect(isOpen(handedOut[0]!)).toBe(false); // the old one's duplicate is let go
  });

  it('a pod the proxy refused is looked at every pendingRetryMs until its listener is there, then confirmed in the registry', async () => {
    const registry = new PodRegistry({ closeFd: () => {} });
    const script = ['none', 'none', 'v4'];
    let fd = -1;
    const calls: number[] = [];
    const discover = (_n: string, port: number): DiscoveryResult => {
      calls.push(Date.now());
      if (script.shift() !== 'v4') return { listeners: [], problems: ['nothing listens'] };
      fd = openSync('/dev/null', 'r');
      return { listeners: [{ fd, family: 4, address: '0.0.0.0', port, inode: 77n, ownerPid: 1 }], problems: [] };
    };
    const hl = new HboneListeners(registry, { pendingRetryMs: 40, retry: { attempts: 1 } }, { discover, readAddresses: () => [], heldElsewhere: (i) => i });
    hl.start();
    stops.push(() => hl.stop());
    const confirmed: string[] = [];
    registry.on('confirmed', (p) => confirmed.push(p.uid));
    registry.add(pod('p'), 59, 590n);
    expect(registry.reject('p', 590n)).toBe('pending');
    expect(hl.get('p')).toMatchObject({ confirmed: false, pending: true, listeners: [] });
    await until(() => confirmed.length === 1);
    expect(calls.length).toBeGreaterThanOrEqual(3); // more than retry.attempts: a pending pod is looked at until found
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(35);
    expect(registry.get('p')).toMatchObject({ confirmed: true, pending: false });
    await until(() => hl.get('p')?.listeners.length === 1);
    expect(hl.get('p')).toMatchObject({ confirmed: true, pending: false, listeners: [{ inode: 77n }] });
  });

  it('keeps the listeners when the holders cannot be told', () => {
    const { hl } = setup([], () => {
      throw new Error('no /proc');
    });
    expect(hl.releaseOrphans()).toBe(0);
  });
});
