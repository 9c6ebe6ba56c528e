import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DataplaneLifecycle, startDataplane } from '../../src/dataplane-lifecycle.js';
import { InvalidArgumentError, NotFoundError } from '../../src/errors.js';
import type { Link } from '../../src/link.js';
import { defineSkeleton } from '../../src/skeleton.js';

// any file that exists: these tests never load it
const objectPath = fileURLToPath(import.meta.url);
const skeleton = defineSkeleton({ programs: ['p'], maps: {} });

function lifecycle(extra: { pinRoot?: string; netns?: string; objectPath?: string } = {}) {
  return new DataplaneLifecycle({ name: 'kit-test', objectPath, skeleton, ...extra });
}

function fakeLink(adopted: boolean, calls: string[], fail?: 'close' | 'detach'): Link {
  const call = (what: 'close' | 'detach') => () => {
    calls.push(what);
    if (fail === what) throw new Error(`${what} exploded`);
  };
  return { type: 'sk_lookup', target: 't', adopted, close: call('close'), detach: call('detach') } as unknown as Link;
}

describe('DataplaneLifecycle options', () => {
  it.each([
    [{ pinRoot: 'relative/dir' }, InvalidArgumentError, /^kit-test: pinRoot must be an absolute path on bpffs, got "relative\/dir"$/],
    [{ netns: '' }, InvalidArgumentError, /^kit-test: netns must be a netns name or path/],
    [{ objectPath: '/nonexistent/x.bpf.o' }, NotFoundError, /kit-test BPF object \/nonexistent\/x\.bpf\.o \(build it with `make -C bpf`/],
  ])('refuses %j', (extra, type, message) => {
    expect(() => lifecycle(extra)).toThrow(type);
    expect(() => lifecycle(extra)).toThrow(message);
  });

  it('lays its pins out under pinRoot, and pins nothing without it', () => {
    const life = lifecycle({ pinRoot: '/sys/fs/bpf/kit' });
    expect([life.mapsDir, life.linksDir, life.linkPinPath('egress-eth0')]).toEqual([
      '/sys/fs/bpf/kit/maps',
      '/sys/fs/bpf/kit/links',
      '/sys/fs/bpf/kit/links/egress-eth0',
    ]);
    const none = lifecycle();
    expect([none.mapsDir, none.linksDir, none.linkPinPath('x')]).toEqual([undefined, undefined, undefined]);
    expect(none.detachPinnedLinksExcept(() => false)).toEqual([]);
  });
});

describe('DataplaneLifecycle stages', () => {
  it('guards each operation with the stages it needs', () => {
    const life = lifecycle();
    expect(life.stage).toBe('opened');
    expect(() => life.expect('load', 'opened')).not.toThrow();
    expect(() => life.expect('setRules', 'seeded')).toThrow(/^kit-test: setRules is allowed only after load\(\) and seed\(\) \(state: opened\)$/);
    expect(() => life.expect('status', 'loaded', 'attached')).toThrow(/allowed only after load\(\) or after attach\(\) \(state: opened\)/);
    expect(life.is('opened', 'loaded')).toBe(true);
    expect(() => life.skeleton).toThrow(/^kit-test: the BPF object is not loaded \(state: opened\)$/);
  });

  it('moves on only in order', () => {
    const life = lifecycle();
    expect(() => life.advance('seeded')).toThrow(/advance to seeded is allowed only after load\(\) \(state: opened\)/);
    expect(() => life.advance('attached')).toThrow(/advance to attached is allowed only after load\(\) and seed\(\)/);
    expect(life.stage).toBe('opened');
  });

  it('refuses everything once closed', () => {
    const life = lifecycle();
    life.close();
    expect(life.stage).toBe('closed');
    expect(() => life.expect('load', 'opened')).toThrow(/^kit-test: load: the dataplane is closed$/);
    expect(() => life.advance('seeded')).toThrow(/the dataplane is closed/);
    expect(life.is('opened')).toBe(false);
  });
});

describe('DataplaneLifecycle.close', () => {
  it.each([
    [{ keepPinned: false }, ['detach', 'detach']],
    [{ keepPinned: true }, ['close', 'close']],
    [{ keepPinned: true, discardNew: true }, ['close', 'detach']], // the adopted link stays, the new one goes
  ] as const)('%j releases every link it holds', (options, calls) => {
    const life = lifecycle();
    const seen: string[] = [];
    life.links.set('adopted', fakeLink(true, seen));
    life.links.set('new', fakeLink(false, seen));
    life.close(options);
    expect(seen).toEqual(calls);
    expect(life.links.size).toBe(0);
  });

  it('runs every step even when one fails, then throws that error as it is', () => {
    const life = lifecycle();
    const seen: string[] = [];
    life.links.set('a', fakeLink(false, seen, 'detach'));
    life.links.set('b', fakeLink(false, seen));
    let released = false;
    expect(() => life.close({ keepPinned: false }, () => (released = true))).toThrow(/^detach exploded$/);
    expect(seen).toEqual(['detach', 'detach']);
    expect(released).toBe(true);
    expect(life.stage).toBe('closed');
  });

  it('collects several failures in one AggregateError naming the dataplane', () => {
    const life = lifecycle();
    life.links.set('a', fakeLink(true, [], 'close'));
    let caught: unknown;
    try {
      life.close({ keepPinned: true }, () => {
        throw new Error('ring exploded');
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AggregateError);
    expect((caught as AggregateError).message).toBe('kit-test: close: 2 errors');
    expect((caught as AggregateError).errors.map((e: Error) => e.message)).toEqual(['close exploded', 'ring exploded']);
  });

  it('is idempotent: a second close does nothing', () => {
    const life = lifecycle();
    let releases = 0;
    life.close({ keepPinned: false }, () => releases++);
    life.close({ keepPinned: false }, () => releases++);
    expect(releases).toBe(1);
  });
});

describe('startDataplane', () => {
  const dataplane = (failClose = false) => {
    const closedWith: unknown[] = [];
    return {
      closedWith,
      close(options: unknown) {
        closedWith.push(options);
        if (failClose) throw new Error('close exploded');
      },
    };
  };

  it('returns the dataplane when every step ran', () => {
    const dp = dataplane();
    expect(startDataplane(dp, () => undefined)).toBe(dp);
    expect(dp.closedWith).toEqual([]);
  });

  it('closes a failed start keeping only what an earlier run pinned, and throws its error', () => {
    const dp = dataplane();
    expect(() =>
      startDataplane(dp, () => {
        throw new Error('seed exploded');
      }),
    ).toThrow(/^seed exploded$/);
    expect(dp.closedWith).toEqual([{ keepPinned: true, discardNew: true }]);
  });

  it('names both when the close after a failed start fails too', () => {
    expect(() =>
      startDataplane(dataplane(true), () => {
        throw new Error('seed exploded');
      }),
    ).toThrow(/^seed exploded \(and closing after it failed too\)$/);
  });
});
