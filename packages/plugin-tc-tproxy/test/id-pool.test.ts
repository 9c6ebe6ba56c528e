import { describe, expect, it } from 'vitest';
import { IdAllocator, emptyPool, inUse, poolFromUsed } from '../src/id-pool.js';

describe('id pools', () => {
  it('hand out ids from 1, never beyond max, and reuse freed ids only in a later apply', () => {
    const a = new IdAllocator(emptyPool(3));
    expect([a.alloc(), a.alloc(), a.alloc(), a.alloc()]).toEqual([1, 2, 3, undefined]);
    a.release(2);
    a.release(2); // twice: harmless
    expect(a.alloc()).toBeUndefined();
    const next = a.result();
    expect(next.count).toBe(2);
    expect(inUse(next, 2)).toBe(false);
    expect(new IdAllocator(next).alloc()).toBe(2);
  });

  it('are rebuilt from the ids found in the maps, gaps first', () => {
    const pool = poolFromUsed(100, [3, 7, 5, 5, 0, 101]);
    expect(pool.count).toBe(3);
    const a = new IdAllocator(pool);
    expect([a.alloc(), a.alloc(), a.alloc(), a.alloc(), a.alloc()]).toEqual([1, 2, 4, 6, 8]);
  });

  it('grow past their first bitmap and leave the pool they came from alone', () => {
    const pool = emptyPool(1 << 20);
    const a = new IdAllocator(pool);
    for (let i = 0; i < 5000; i++) a.alloc();
    const r = a.result();
    expect(r.count).toBe(5000);
    expect(inUse(r, 4999)).toBe(true);
    expect(inUse(pool, 1)).toBe(false);
  });
});
