import { describe, expect, it } from 'vitest';
import type { Intent } from '../src/contracts.js';
import { groupSnapshot } from '../src/desired-state.js';
import { applyIntentChange, type KeyedIntents, placeOf } from '../src/intent-change.js';

const known = new Map([['a', 1], ['b', 1]]);
const a = (v: number): Intent => ({ kind: 'a', v });
const b = (v: number): Intent => ({ kind: 'b', v });
const vs = (s: KeyedIntents, kind: string) => (s.byKind.get(kind) ?? []).map((i) => i.v);

function change(prev: KeyedIntents | undefined, c: Parameters<typeof applyIntentChange>[1]) {
  const r = applyIntentChange(prev, c, known);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

describe('applyIntentChange', () => {
  it('upserts, replaces and removes by key, touching only the kinds named', () => {
    const first = change(undefined, { upsert: [['x', a(1)], ['y', a(2)], ['z', b(3)]] });
    expect(vs(first.next, 'a')).toEqual([1, 2]);
    expect(vs(first.next, 'b')).toEqual([3]);
    expect(first.changed).toEqual(new Set(['a', 'b']));
    const second = change(first.next, { upsert: [['y', a(20)], ['w', a(4)]], remove: ['x'] });
    // x's place is taken by the last one (w came after the removal)
    expect(vs(second.next, 'a')).toEqual([20, 4]);
    expect(second.changed).toEqual(new Set(['a']));
    expect(second.next.byKind.get('b')).toBe(first.next.byKind.get('b')); // untouched kind shared
    // lists change in place (no copy per change): the previous version shares them, undo restores it
    expect(second.next.byKind.get('a')).toBe(first.next.byKind.get('a'));
    expect(second.next.size).toBe(3);
    expect(Object.isFrozen(second.next.byKind.get('a')![0])).toBe(true);
  });

  it('moves a key to another kind, and empties a kind', () => {
    const first = change(undefined, { upsert: [['x', a(1)]] });
    const second = change(first.next, { upsert: [['x', b(1)]] });
    expect(second.next.byKind.has('a')).toBe(false);
    expect(vs(second.next, 'b')).toEqual([1]);
    expect(second.changed).toEqual(new Set(['a', 'b']));
  });

  it('refuses a bad change as a whole, naming the problem', () => {
    const first = change(undefined, { upsert: [['x', a(1)]] });
    expect(applyIntentChange(first.next, { remove: ['nope'] }, known)).toBe('remove 0: no intent has key "nope"');
    expect(applyIntentChange(first.next, { upsert: [['k', { kind: 'c' }]] }, known)).toMatch(/^upsert 0 \(key "k"\) has kind "c", which no configured plugin consumes/);
    expect(applyIntentChange(first.next, { upsert: [['k', a(1)], ['k', a(2)]] }, known)).toBe('upsert 1: key "k" is listed twice');
    expect(applyIntentChange(first.next, { upsert: [['k', a(1)]], remove: ['k'] }, known)).toMatch(/^remove 0: key "k"/);
    expect(vs(first.next, 'a')).toEqual([1]);
  });

  it('undo puts the shared key index back, so the previous version takes changes again', () => {
    const first = change(undefined, { upsert: [['x', a(1)], ['y', a(2)]] });
    const refused = change(first.next, { remove: ['x'], upsert: [['z', a(3)]] });
    refused.undo();
    const again = change(first.next, { remove: ['y'] });
    expect(vs(again.next, 'a')).toEqual([1]);
    expect(applyIntentChange(again.next, { remove: ['z'] }, known)).toBe('remove 0: no intent has key "z"');
  });

  it('resets to the upserts alone, and replaces a snapshot only by a reset', () => {
    const snap = groupSnapshot([a(1), b(2)], known) as KeyedIntents;
    const added = change(snap, { upsert: [['x', a(3)]] });
    expect(vs(added.next, 'a')).toEqual([1, 3]);
    const reset = change(added.next, { reset: true, upsert: [['y', b(9)]] });
    expect(vs(reset.next, 'a')).toEqual([]);
    expect(vs(reset.next, 'b')).toEqual([9]);
    expect(reset.changed).toEqual(new Set(['a', 'b']));
  });

  it('keeps every kind list consistent with its keys over random changes', () => {
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    let state: KeyedIntents | undefined;
    const model = new Map<string, Intent>();
    for (let round = 0; round < 400; round++) {
      const upsert: [string, Intent][] = [];
      const remove: string[] = [];
      const used = new Set<string>();
      for (let k = rand(6); k > 0; k--) {
        const key = `k${rand(30)}`;
        if (used.has(key)) continue;
        used.add(key);
        if (model.has(key) && rand(2) === 0) remove.push(key);
        else upsert.push([key, rand(2) ? a(round) : b(round)]);
      }
      const r = change(state, { upsert, remove });
      state = r.next;
      for (const key of remove) model.delete(key);
      for (const [key, intent] of upsert) model.set(key, intent);
      const expected = (kind: string) => [...model.values()].filter((i) => i.kind === kind).map((i) => i.v).sort();
      expect([...vs(state, 'a')].sort()).toEqual(expected('a'));
      expect([...vs(state, 'b')].sort()).toEqual(expected('b'));
      for (const [key, intent] of model) {
        const where = placeOf(state.keyed!, key)!;
        expect(state.byKind.get(where.kind)![where.at]).toStrictEqual(intent);
      }
    }
  });

  it('undo of any change restores the key index and key lists exactly', () => {
    let seed = 11;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    let state = change(undefined, { upsert: Array.from({ length: 20 }, (_, i) => [`k${i}`, i % 2 ? a(i) : b(i)] as [string, Intent]) }).next;
    const snapshot = (s: KeyedIntents) =>
      JSON.stringify([[...s.keyed!.index].sort(([x], [y]) => (x < y ? -1 : 1)), s.keyed!.kinds.map((k) => [k.kind, k.keys, k.list.items])]);
    for (let round = 0; round < 300; round++) {
      const keys = [...state.keyed!.index.keys()];
      const remove = keys.filter(() => rand(4) === 0);
      const upsert: [string, Intent][] = [];
      for (let k = rand(5); k > 0; k--) {
        const key = `k${rand(40)}`;
        if (!remove.includes(key) && !upsert.some(([u]) => u === key)) upsert.push([key, rand(2) ? a(round) : b(round)]);
      }
      const before = snapshot(state);
      const applied = change(state, { upsert, remove });
      if (rand(2) === 0) {
        applied.undo();
        expect(snapshot(state)).toBe(before);
      } else state = applied.next;
    }
  });

  it('checks a reset while it builds it, and leaves the previous version untouched when refused', () => {
    const first = change(undefined, { upsert: [['x', a(1)], ['y', b(2)]] });
    expect(applyIntentChange(first.next, { reset: true, upsert: [['k', a(1)], ['k', a(2)]] }, known)).toBe('upsert 1: key "k" is listed twice');
    expect(applyIntentChange(first.next, { reset: true, upsert: [['k', a(1)], ['j', { kind: 'c' }]] }, known)).toMatch(/^upsert 1 \(key "j"\) has kind "c"/);
    expect(applyIntentChange(first.next, { reset: true, upsert: [['k', a(1)]], remove: ['x'] }, known)).toBe('remove 0: no intent has key "x"');
    expect(vs(first.next, 'a')).toEqual([1]);
    const reset = change(first.next, { reset: true, upsert: [['k', a(5)], ['j', b(6)], ['i', a(7)]] });
    expect(vs(reset.next, 'a')).toEqual([5, 7]);
    expect(placeOf(reset.next.keyed!, 'i')).toEqual({ kind: 'a', at: 1 });
    expect(placeOf(reset.next.keyed!, 'x')).toBeUndefined();
    // the reset's keys take further changes
    expect(vs(change(reset.next, { remove: ['k'] }).next, 'a')).toEqual([7]);
  });

  it('refuses a change naming more kinds than a source may hold, putting everything back', () => {
    const many = new Map(Array.from({ length: 1100 }, (_, i) => [`kind${i}`, 1] as const));
    const first = applyIntentChange(undefined, { upsert: [['x', { kind: 'kind0', v: 1 }], ['y', { kind: 'kind1', v: 2 }]] }, many);
    if (typeof first === 'string') throw new Error(first);
    const before = [...first.next.keyed!.index];
    const upsert = Array.from({ length: 1100 }, (_, i) => [`k${i}`, { kind: `kind${i}`, v: i }] as [string, Intent]);
    upsert.push(['x', { kind: 'kind5', v: 9 }]);
    expect(applyIntentChange(first.next, { upsert, remove: ['y'] }, many)).toBe("a source's intents may have at most 1024 kinds");
    expect([...first.next.keyed!.index]).toEqual(before);
    expect(first.next.keyed!.kinds).toHaveLength(2);
    expect(first.next.keyed!.kinds.slice(0, 2).map((k) => [k.keys, k.list.items.map((i) => i.v)])).toEqual([[['x'], [1]], [['y'], [2]]]);
  });

  it('finds a key listed twice in a change without removals while applying it, and puts everything back', () => {
    const snapshot = (s: KeyedIntents) =>
      JSON.stringify([[...s.keyed!.index].sort(([x], [y]) => (x < y ? -1 : 1)), s.keyed!.kinds.map((k) => [k.kind, k.keys, k.list.items])]);
    const first = change(undefined, { upsert: [['x', a(1)], ['y', a(2)], ['z', b(3)]] });
    const before = snapshot(first.next);
    const cases: [string, Intent][][] = [
      [['n', a(1)], ['x', a(5)], ['n', a(2)]], // a new key twice
      [['x', a(5)], ['n', a(1)], ['x', a(6)]], // an existing key twice
      [['n', a(1)], ['n', b(2)]], // a new key twice, of two kinds
      [['x', a(5)], ['x', b(6)]], // an existing key twice, the second time of another kind
      [['x', b(5)], ['n', a(1)], ['x', a(6)]], // the first time of another kind
    ];
    for (const upsert of cases) {
      const twice = upsert.findIndex(([key], i) => upsert.findIndex(([k]) => k === key) < i);
      expect(applyIntentChange(first.next, { upsert }, known)).toBe(`upsert ${twice}: key "${upsert[twice]![0]}" is listed twice`);
      expect(snapshot(first.next)).toBe(before);
    }
    // a key moved to another kind (the change is taken again, checked first)
    const moved = change(first.next, { upsert: [['n', a(7)], ['x', b(8)], ['m', b(9)]] });
    expect(vs(moved.next, 'a')).toEqual([7, 2]);
    expect(vs(moved.next, 'b')).toEqual([3, 8, 9]);
    expect(placeOf(moved.next.keyed!, 'n')).toEqual({ kind: 'a', at: 0 });
  });

  it('agrees with a model over random changes with keys listed twice, refused ones leaving no trace', () => {
    let seed = 23;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    let state = change(undefined, { upsert: [['k0', a(0)]] }).next;
    const model = new Map<string, Intent>([['k0', a(0)]]);
    const snapshot = (s: KeyedIntents) => JSON.stringify([[...s.keyed!.index].sort(([x], [y]) => (x < y ? -1 : 1)), s.keyed!.kinds.map((k) => [k.keys, k.list.items])]);
    for (let round = 1; round < 500; round++) {
      const upsert: [string, Intent][] = [];
      for (let k = 1 + rand(6); k > 0; k--) upsert.push([`k${rand(25)}`, rand(2) ? a(round) : b(round)]);
      const remove = rand(4) === 0 ? [...model.keys()].filter((key) => rand(3) === 0 && !upsert.some(([u]) => u === key)) : [];
      const twice = upsert.findIndex(([key], i) => upsert.findIndex(([k]) => k === key) < i);
      const before = snapshot(state);
      const r = applyIntentChange(state, { upsert, remove }, known);
      if (twice >= 0) {
        expect(r).toBe(`upsert ${twice}: key "${upsert[twice]![0]}" is listed twice`);
        expect(snapshot(state)).toBe(before);
        continue;
      }
      if (typeof r === 'string') throw new Error(r);
      state = r.next;
      for (const key of remove) model.delete(key);
      for (const [key, intent] of upsert) model.set(key, intent);
      expect(state.size).toBe(model.size);
      for (const [key, intent] of model) {
        const where = placeOf(state.keyed!, key)!;
        expect(state.byKind.get(where.kind)![where.at]).toBe(intent);
      }
    }
  });
});
