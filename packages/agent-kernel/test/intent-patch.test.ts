import { describe, expect, it } from 'vitest';
import type { Intent } from '../src/contracts.js';
import { diffKind, slicePatches } from '../src/intent-patch.js';
import { applyKindPatch } from '../src/plugin-worker.js';

const mk = (n: number, from = 0): Intent[] => Array.from({ length: n }, (_, i) => ({ kind: 'k', v: from + i }));

/** What the thread holds after the patches of `before -> after`, sliced like the agent sends them. */
function roundTrip(before: readonly Intent[], after: readonly Intent[], slice = 3): readonly Intent[] {
  const patch = diffKind('k', before, after);
  if (!patch) return before;
  let held: readonly Intent[] = before;
  for (const part of slicePatches([patch], slice)) for (const p of part) held = applyKindPatch(held, p);
  return held;
}

describe('diffKind', () => {
  const base = mk(20);
  it('is nothing for the same list or the same elements', () => {
    expect(diffKind('k', base, base)).toBeUndefined();
    expect(diffKind('k', base, [...base])).toBeUndefined();
  });
  it('sends changed positions only', () => {
    const next = [...base];
    next[3] = next.pop()!;
    expect(diffKind('k', base, next)).toEqual({ kind: 'k', length: 19, at: [3], intents: [base[19]] });
  });
  it('sends an append of many as the tail only, and a rewrite of most as the whole list', () => {
    const grown = [...base, ...mk(30, 100)];
    expect(diffKind('k', base, grown)).toEqual({ kind: 'k', all: grown.slice(20), append: true });
    const rewritten = mk(20, 50);
    expect(diffKind('k', base, rewritten)).toEqual({ kind: 'k', all: rewritten });
    expect(diffKind('k', [], base)).toEqual({ kind: 'k', all: base });
  });
  it('round-trips random edits through sliced patches', () => {
    let seed = 42;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    let before: Intent[] = mk(50);
    let next = 1000;
    for (let round = 0; round < 300; round++) {
      const after = [...before];
      const edits = rand(40);
      for (let e = 0; e < edits; e++) {
        const op = rand(4);
        if (op === 0 && after.length > 0) after[rand(after.length)] = after.pop()!;
        else if (op === 1) after.push({ kind: 'k', v: next++ });
        else if (op === 2 && after.length > 0) after[rand(after.length)] = { kind: 'k', v: next++ };
        else after.splice(rand(after.length + 1), 0, { kind: 'k', v: next++ });
      }
      const held = roundTrip(before, after, 1 + rand(7));
      expect(held.length).toBe(after.length);
      for (let i = 0; i < after.length; i++) expect(held[i]).toBe(after[i]);
      before = after;
    }
  });
});

describe('applyKindPatch', () => {
  it('extends the held list in place with appended parts (no copy of the list per part)', () => {
    const whole = mk(10);
    let held = applyKindPatch(undefined, { kind: 'k', all: whole.slice(0, 4) });
    const first = held;
    for (const part of slicePatches([{ kind: 'k', all: whole }], 4).slice(1)) for (const p of part) held = applyKindPatch(held, p);
    expect(held).toBe(first);
    expect(held).toEqual(whole);
  });
});

describe('slicePatches', () => {
  it('keeps every slice within the bound and the order of the parts', () => {
    const all = mk(10);
    const slices = slicePatches([{ kind: 'a', all }, { kind: 'b', length: 3, at: [0, 2], intents: [all[0]!, all[1]!] }], 4);
    expect(slices.map((s) => s.map((p) => ('all' in p ? p.all.length : p.at.length)))).toEqual([[4], [4], [2, 2]]);
    expect(slices[0]![0]).toEqual({ kind: 'a', all: all.slice(0, 4) });
    expect(slices[1]![0]).toEqual({ kind: 'a', all: all.slice(4, 8), append: true });
  });
});
