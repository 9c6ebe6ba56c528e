import { describe, expect, it } from 'vitest';
import type { Intent } from '../src/contracts.js';
import { groupSnapshot } from '../src/desired-state.js';
import { applyIntentChange, type KeyedIntents } from '../src/intent-change.js';

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
        const where = state.keyed!.index.get(key)!;
        expect(state.byKind.get(where.kind)![where.at]).toStrictEqual(intent);
      }
    }
  });

  it('undo of any change restores the key index and key lists exactly', () => {
    let seed = 11;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    let state = change(undefined, { upsert: Array.from({ length: 20 }, (_, i) => [`k${i}`, i % 2 ? a(i) : b(i)] as [string, Intent]) }).next;
    const snapshot = (s: KeyedIntents) => JSON.stringify([[...s.keyed!.index].sort(([x], [y]) => (x < y ? -1 : 1)), [...s.keyed!.keysByKind]]);
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
});

