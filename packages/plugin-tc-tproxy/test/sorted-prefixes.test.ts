import { describe, expect, it } from 'vitest';
import { SortedPrefixes, sortByOrder } from '../src/sorted-prefixes.js';
import { SeededRandom } from './support/seeded-random.js';

interface Item {
  readonly order: number;
}

function orders(list: SortedPrefixes<Item>): number[] {
  const out: number[] = [];
  list.forEach((e) => out.push(e.order));
  return out;
}

describe('SortedPrefixes', () => {
  it('keeps the order through many insertions and removals (a chunk splits), like a sorted array', () => {
    const seeded = new SeededRandom(7);
    const rnd = () => seeded.u32() / 2 ** 32;
    const reference: Item[] = [];
    const initial = Array.from({ length: 1000 }, (_, i) => ({ order: i * 10 }));
    reference.push(...initial);
    const list = SortedPrefixes.fromSorted(initial);
    for (let step = 0; step < 5000; step++) {
      if (rnd() < 0.6 || reference.length === 0) {
        // new orders clustered in one region, so that one chunk grows past its split size
        const order = rnd() < 0.5 ? 5000 + rnd() * 10 : rnd() * 20000;
        if (reference.some((e) => e.order === order)) continue;
        const item = { order };
        list.insert(item);
        reference.push(item);
        reference.sort((a, b) => a.order - b.order);
      } else {
        const at = Math.floor(rnd() * reference.length);
        expect(list.remove(reference[at])).toBe(true);
        reference.splice(at, 1);
      }
      expect(list.size).toBe(reference.length);
    }
    expect(orders(list)).toEqual(reference.map((e) => e.order));
  });

  it('drops a chunk once it is empty and goes on from its neighbours', () => {
    const items = Array.from({ length: 300 }, (_, i) => ({ order: i }));
    const list = SortedPrefixes.fromSorted(items); // chunks of 256 and 44
    for (const e of items.slice(256)) expect(list.remove(e)).toBe(true);
    list.insert({ order: 1000 });
    list.insert({ order: 255.5 });
    expect(orders(list)).toEqual([...items.slice(0, 256).map((e) => e.order), 255.5, 1000]);
    for (const e of items.slice(0, 256)) expect(list.remove(e)).toBe(true);
    expect(orders(list)).toEqual([255.5, 1000]);
    expect(list.size).toBe(2);
  });

  it('removes only the very object given', () => {
    const a = { order: 1 };
    const list = SortedPrefixes.fromSorted([a, { order: 2 }]);
    expect(list.remove({ order: 1 })).toBe(false);
    expect(list.remove(a)).toBe(true);
    expect(list.remove(a)).toBe(false);
    expect(orders(list)).toEqual([2]);
  });

  it('scans from an order, across chunks, until told to stop', () => {
    const list = SortedPrefixes.fromSorted(Array.from({ length: 2000 }, (_, i) => ({ order: i * 2 })));
    const seen: number[] = [];
    list.scanFrom(501, (e) => {
      seen.push(e.order);
      return e.order < 1400;
    });
    expect(seen[0]).toBe(502);
    expect(seen[seen.length - 1]).toBe(1400);
    expect(seen).toHaveLength((1400 - 502) / 2 + 1);
    const none: number[] = [];
    list.scanFrom(10_000, (e) => none.push(e.order) > 0);
    expect(none).toEqual([]);
  });

  it('starts empty and grows from one entry', () => {
    const list = new SortedPrefixes<Item>();
    expect(list.remove({ order: 3 })).toBe(false);
    list.scanFrom(0, () => {
      throw new Error('nothing to scan');
    });
    for (const order of [5, 1, 3]) list.insert({ order });
    expect(orders(list)).toEqual([1, 3, 5]);
  });

  it('sorts by order like a comparison sort: integer orders below 2^48 by digits, any other by comparison', () => {
    const seeded = new SeededRandom(11);
    const byOrder = (a: { order: number | string }, b: { order: number | string }) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0);
    const cases: Array<Array<{ order: number | string }>> = [
      // IPv4 prefix orders (address * 64 + length), some addresses sharing digits
      Array.from({ length: 5000 }, () => ({ order: (seeded.u32() & (seeded.u32() % 2 === 0 ? 0xffff0000 : 0xffffffff)) * 64 + (seeded.u32() % 33) })),
      // small orders (the high digits all zero), and the largest
      Array.from({ length: 3000 }, (_, i) => ({ order: i === 0 ? 2 ** 48 - 1 : seeded.u32() % 70000 })),
      // not digits: texts, fractions, past 2^48
      Array.from({ length: 2000 }, (_, i) => ({ order: i % 500 === 0 ? 2 ** 48 + i : seeded.u32() + 0.5 })),
      Array.from({ length: 2000 }, () => ({ order: seeded.u32().toString(16).padStart(8, '0') })),
      Array.from({ length: 10 }, () => ({ order: seeded.u32() })),
    ];
    for (const list of cases) {
      const unique = [...new Map(list.map((e) => [e.order, e])).values()];
      expect(sortByOrder(unique)).toEqual([...unique].sort(byOrder));
    }
  });
});
