import { describe, expect, it } from 'vitest';
import { ShardedMap, ShardedSet } from '../src/sharded-map.js';

describe('ShardedMap / ShardedSet', () => {
  it('answer as a Map and a Set do, over random operations on overlapping keys', () => {
    let seed = 7;
    const random = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const keys = Array.from({ length: 500 }, (_, i) => (i % 3 === 0 ? `10.${i >> 8}.${i & 255}.0/24 tcp ${i}` : `k${i}`));
    const sharded = new ShardedMap<number>();
    const plain = new Map<string, number>();
    const set = new ShardedSet();
    const plainSet = new Set<string>();
    for (let op = 0; op < 20_000; op++) {
      const key = keys[random(keys.length)]!;
      switch (random(4)) {
        case 0:
          expect(sharded.set(key, op)).toBe(sharded);
          plain.set(key, op);
          break;
        case 1:
          expect(sharded.delete(key)).toBe(plain.delete(key));
          break;
        case 2:
          expect(set.add(key).size).toBe(plainSet.add(key).size);
          break;
        default:
          expect(sharded.get(key)).toBe(plain.get(key));
          expect(sharded.has(key)).toBe(plain.has(key));
          expect(set.has(key)).toBe(plainSet.has(key));
      }
      expect(sharded.size).toBe(plain.size);
    }
  });
});
