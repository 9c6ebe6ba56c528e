import { describe, expect, it } from 'vitest';
import { PersistentMap } from './persistent-map.js';

/** a small deterministic PRNG (mulberry32) so failures replay */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const asList = <V>(m: ReadonlyMap<string, V>): [string, V][] => [...m];

describe('PersistentMap', () => {
  it('reads like a Map: get, has, size, insertion order (a key set again keeps its place)', () => {
    let m = PersistentMap.empty<number>();
    m = m.set('b', 1).set('a', 2).set('c', 3).set('b', 4);
    expect(asList(m)).toEqual([['b', 4], ['a', 2], ['c', 3]]);
    expect([...m.keys()]).toEqual(['b', 'a', 'c']);
    expect([...m.values()]).toEqual([4, 2, 3]);
    expect([...m.entries()]).toEqual(asList(m));
    expect(m.size).toBe(3);
    expect(m.get('a')).toBe(2);
    expect(m.get('zz')).toBeUndefined();
    expect(m.has('c')).toBe(true);
    expect(m.has('zz')).toBe(false);
    const seen: string[] = [];
    m.forEach((v, k, map) => {
      expect(map).toBe(m);
      seen.push(`${k}=${v}`);
    });
    expect(seen).toEqual(['b=4', 'a=2', 'c=3']);
    // deleted and set again: at the end, like Map
    expect(asList(m.delete('b').set('b', 5))).toEqual([['a', 2], ['c', 3], ['b', 5]]);
    expect(Object.prototype.toString.call(m)).toBe('[object PersistentMap]');
  });

  it('never changes a map handed out; no-op writes return the same map', () => {
    const a = PersistentMap.from([['x', 1], ['y', 2]]);
    const b = a.set('z', 3);
    const c = b.delete('x');
    expect(asList(a)).toEqual([['x', 1], ['y', 2]]);
    expect(asList(b)).toEqual([['x', 1], ['y', 2], ['z', 3]]);
    expect(asList(c)).toEqual([['y', 2], ['z', 3]]);
    expect(a.set('x', 1)).toBe(a);
    expect(a.delete('nope')).toBe(a);
    expect(a.batch(() => undefined)).toBe(a);
    expect(PersistentMap.from(a)).toBe(a);
  });

  it('batch: many writes, the source map untouched, the writer unusable afterwards', () => {
    const base = PersistentMap.from(Array.from({ length: 100 }, (_, i) => [`k${i}`, i] as const));
    let writer: { set(k: string, v: number): void } | undefined;
    const next = base.batch((w) => {
      writer = w;
      for (let i = 0; i < 100; i += 2) w.delete(`k${i}`);
      w.set('new', -1);
      expect(w.has('k0')).toBe(false);
      expect(w.get('new')).toBe(-1);
      expect(w.delete('missing')).toBe(false);
    });
    expect(base.size).toBe(100);
    expect(base.get('k0')).toBe(0);
    expect(next.size).toBe(51);
    expect(next.get('k1')).toBe(1);
    expect(next.has('k2')).toBe(false);
    expect(() => writer!.set('late', 1)).toThrow(/after the batch ended/);
  });

  it.each([1, 2, 3, 4, 5])('agrees with Map over random writes, and every older version stays intact (seed %i)', (seed) => {
    const random = prng(seed);
    // few distinct keys make hits, deletes and re-inserts frequent; long and short keys vary the hash
    const keys = Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? `wl/${i}` : `cluster//Pod/ns-${i % 17}/name-${i}`));
    let model = new Map<string, number>();
    let map = PersistentMap.empty<number>();
    const versions: [Map<string, number>, PersistentMap<number>][] = [];
    for (let step = 0; step < 3000; step++) {
      const key = keys[Math.floor(random() * keys.length)];
      const r = random();
      if (r < 0.55) {
        model = new Map(model).set(key, step);
        map = map.set(key, step);
      } else if (r < 0.85) {
        const next = new Map(model);
        next.delete(key);
        model = next;
        map = map.delete(key);
      } else {
        const writes = Array.from({ length: 1 + Math.floor(random() * 20) }, () => [keys[Math.floor(random() * keys.length)], random() < 0.5] as const);
        const next = new Map(model);
        for (const [k, del] of writes) (del ? next.delete(k) : next.set(k, step));
        model = next;
        map = map.batch((w) => {
          for (const [k, del] of writes) (del ? w.delete(k) : w.set(k, step));
        });
      }
      if (step % 100 === 0) versions.push([model, map]);
      expect(map.size).toBe(model.size);
      expect(map.get(key)).toBe(model.get(key));
      expect(map.has(key)).toBe(model.has(key));
    }
    for (const [m, p] of versions) expect(asList(p)).toEqual(asList(m));
  });

  it('keys with the same 32-bit hash live side by side', () => {
    // FNV-1a collisions (c693596/c1170850 and c693597/c1170851 each share a hash)
    const keys = ['c693596', 'c1170850', 'c693597', 'c1170851', 'other'];
    let map = PersistentMap.from(keys.map((k, i) => [k, i] as const));
    expect(keys.map((k) => map.get(k))).toEqual([0, 1, 2, 3, 4]);
    map = map.set('c1170850', 10).delete('c693597');
    expect(asList(map)).toEqual([['c693596', 0], ['c1170850', 10], ['c1170851', 3], ['other', 4]]);
    map = map.delete('c693596').delete('c1170850');
    expect(map.has('c693596') || map.has('c1170850')).toBe(false);
    expect(asList(map)).toEqual([['c1170851', 3], ['other', 4]]);
  });

  it('holds many keys', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}`);
    const map = PersistentMap.from(keys.map((k, i) => [k, i] as const));
    expect(map.size).toBe(20_000);
    expect(keys.every((k, i) => map.get(k) === i)).toBe(true);
    const half = map.batch((w) => keys.forEach((k, i) => i % 2 && w.delete(k)));
    expect(half.size).toBe(10_000);
    expect(keys.every((k, i) => half.has(k) === (i % 2 === 0))).toBe(true);
    expect([...half.keys()]).toEqual(keys.filter((_, i) => i % 2 === 0));
    expect(map.size).toBe(20_000);
  });
});
