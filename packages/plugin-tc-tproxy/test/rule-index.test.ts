/**
 * DstGroup.forEachNode (one walk in prefix order with a stack of enclosing prefixes, used to
 * compile every node) must give each node exactly the rules rulesOf gives it (one lookup per
 * shorter length), for nested IPv4 and IPv6 prefixes, one or many lengths, after removals.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CompileRule } from '../src/compile-rules.js';
import { makePrefix, type IpFamily } from '../src/key-prefix.js';
import { DstGroup, type IndexedPrefix } from '../src/rule-index.js';

/** A rule with just what the index looks at (its destination), and an id to tell them apart. */
function ruleAt(family: IpFamily, bytes: readonly number[], length: number, id: number): CompileRule {
  const b = new Uint8Array(16);
  const n = family === 4 ? 4 : 16;
  for (let i = 0; i < n; i++) {
    const keep = Math.max(0, Math.min(8, length - i * 8));
    b[i] = bytes[i % bytes.length] & ((0xff << (8 - keep)) & 0xff);
  }
  return { id, destination: makePrefix(family, b, length) } as unknown as CompileRule;
}

const prefixes = (family: IpFamily) =>
  fc.array(
    fc.record({
      // few distinct address bytes and lengths, so that prefixes nest and repeat
      bytes: fc.array(fc.constantFrom(0, 10, 128, 255), { minLength: 1, maxLength: 3 }),
      length: fc.constantFrom(...(family === 4 ? [0, 8, 9, 16, 24, 32] : [0, 16, 48, 64, 127, 128])),
    }),
    { maxLength: 40 },
  );

function compare(group: DstGroup): void {
  const walked = new Map<IndexedPrefix, readonly CompileRule[]>();
  group.forEachNode((entry, rules) => walked.set(entry, rules));
  expect(walked.size).toBe(group.size);
  for (const entry of group.byKey.values()) {
    const ids = (rules: readonly CompileRule[]) => rules.map((r) => r.id);
    expect(ids(walked.get(entry)!), entry.prefix.text).toEqual(ids(group.rulesOf(entry)));
  }
}

describe('DstGroup.forEachNode', () => {
  for (const family of [4, 6] as const) {
    it(`gives every node the rules rulesOf gives it (IPv${family})`, () => {
      fc.assert(
        fc.property(prefixes(family), fc.array(fc.nat(), { maxLength: 10 }), (list, removals) => {
          const group = new DstGroup(1, family, 6);
          const rules = list.map((p, i) => ruleAt(family, p.bytes, p.length, i + 1));
          for (const r of rules) group.add(r);
          compare(group);
          for (const k of removals) if (rules.length > 0) group.remove(rules[k % rules.length]);
          compare(group);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('walks a group of one length (host destinations) without ancestors', () => {
    const group = new DstGroup(1, 4, 6);
    for (let i = 0; i < 5; i++) group.add(ruleAt(4, [10, 0, 0, i], 32, i + 1));
    const seen: number[][] = [];
    group.forEachNode((_, rules) => seen.push(rules.map((r) => r.id)));
    expect(seen.sort()).toEqual([[1], [2], [3], [4], [5]]);
  });
});
