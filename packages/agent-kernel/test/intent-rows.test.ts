import { describe, expect, it } from 'vitest';
import type { Intent } from '../src/contracts.js';
import { diffKind, slicePatches } from '../src/intent-patch.js';
import { intentRows, patchRows } from '../src/intent-rows.js';
import { applyKindPatch, interned, intentsOfRows, patchOfRows, type FieldStrings } from '../src/plugin-worker.js';

/** What the thread gets for `intents`: rows through a structured clone, rebuilt. */
const across = (intents: readonly Intent[]): Intent[] => intentsOfRows(structuredClone(intentRows(intents)));

class Rule {
  readonly kind = 'k';
  constructor(readonly v: number) {}
}

describe('intent rows', () => {
  it('round-trips intents of several shapes as a structured clone would carry them', () => {
    const intents: Intent[] = [
      { kind: 'tproxy.rule', destination: '10.0.0.0/8', ports: { low: 1, high: 2 }, action: 'divert', tproxyPort: 9 },
      { kind: 'tproxy.rule', destination: '10.0.0.1/32', ports: { low: 3, high: 3 }, action: 'deny' },
      { kind: 'tproxy.rule', destination: '10.0.0.2/32', ports: { low: 4, high: 4 }, action: 'divert', tproxyPort: 10 },
      { kind: 'k', list: [1, { a: 2 }], none: undefined, n: null, neg: -0, big: 2n ** 70n, when: new Date(0) },
      { kind: 'k', deep: { a: { b: { c: { d: 1 } } } } },
      { kind: 'k', ports: 'not an object this time' },
      { kind: 'k' },
      Object.freeze({ kind: 'k', frozen: true }),
      JSON.parse('{"kind":"k","__proto__":{"polluted":true}}') as Intent,
      Object.assign(Object.create(null) as object, { kind: 'k', bare: 1 }) as Intent,
      new Rule(5) as unknown as Intent,
    ];
    const back = across(intents);
    expect(back).toEqual(structuredClone(intents));
    expect(Object.is(back[3]!.neg, -0)).toBe(true);
    expect(Object.keys(back[8]!)).toEqual(['kind', '__proto__']); // an own property, not the prototype
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(back[8])).toBe(Object.prototype);
  });

  it('hands out one string per value of a field whose values repeat, and stops looking up a field of distinct values', () => {
    const fields: (FieldStrings | null | undefined)[] = [];
    const first = ['tproxy', 'rule'].join('.'); // made at run time: not the literal's string
    expect(interned(fields, 0, first)).toBe('tproxy.rule');
    for (let n = 0; n < 1000; n++) interned(fields, 0, ['tproxy', 'rule'].join('.'));
    expect(fields[0]!.seen.size).toBe(1);
    expect(fields[0]!.count).toBe(1001);
    for (let n = 0; n < 200; n++) expect(interned(fields, 1, `10.0.${n}.0/24`)).toBe(`10.0.${n}.0/24`);
    expect(fields[1]).toBeNull(); // every value distinct: given up after INTERN_DISTINCT of them
    expect(fields[0]!.seen.size).toBe(1);
  });

  it('names each shape once and keeps values flat', () => {
    const intents = Array.from({ length: 100 }, (_, i): Intent => ({ kind: 'k', v: i, ports: { low: i, high: i + 1 } }));
    const rows = intentRows(intents);
    expect(rows.shapes).toEqual([['kind', 'v', ['ports', ['low', 'high']]]]);
    expect(rows.values.slice(0, 10)).toEqual([0, 'k', 0, 0, 1, 0, 'k', 1, 1, 2]);
    expect(across(intents)).toEqual(intents);
  });

  it('sends intents of shapes beyond those a message keeps as they are', () => {
    const intents = Array.from({ length: 80 }, (_, i): Intent => ({ kind: 'k', [`f${i}`]: i }));
    const rows = intentRows(intents);
    expect(rows.shapes.length).toBeLessThan(80);
    expect(across(intents)).toEqual(intents);
  });

  it('keeps an own property order with integer-like names as objects have it', () => {
    const intents: Intent[] = [{ kind: 'k', b: 1, 2: 'two', a: 3, 1: 'one' }];
    const back = across(intents);
    expect(Object.keys(back[0]!)).toEqual(Object.keys(intents[0]!));
    expect(back).toEqual(intents);
  });

  it('carries patches (positions and whole lists, in slices) to the same list the in-place way', () => {
    let seed = 5;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    let sent: Intent[] = Array.from({ length: 40 }, (_, i) => ({ kind: 'k', v: i }));
    let held: readonly Intent[] = across(sent);
    let next = 1000;
    for (let round = 0; round < 200; round++) {
      const after = [...sent];
      for (let e = rand(30); e > 0; e--) {
        const op = rand(3);
        if (op === 0 && after.length > 0) after[rand(after.length)] = after.pop()!;
        else if (op === 1) after.push({ kind: 'k', v: next++, ...(rand(2) && { extra: { n: next } }) });
        else if (after.length > 0) after[rand(after.length)] = { kind: 'k', v: next++ };
      }
      const patch = diffKind('k', sent, after);
      const before = held;
      const untouched = new Set(held);
      for (const part of slicePatches(patch ? [patch] : [], 1 + rand(9))) {
        for (const p of part) held = applyKindPatch(held, patchOfRows(structuredClone(patchRows(p))));
      }
      expect(held).toEqual(after);
      // positions sent apply in place: the list and its unchanged intents stay the same objects
      if (patch && !('all' in patch)) {
        expect(held).toBe(before);
        const changed = new Set(patch.at);
        held.forEach((intent, i) => {
          if (!changed.has(i)) expect(untouched.has(intent)).toBe(true);
        });
      }
      sent = after;
    }
  });
});
