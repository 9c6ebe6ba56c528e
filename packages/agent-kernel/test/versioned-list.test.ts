import { describe, expect, it } from 'vitest';
import type { Intent } from '../src/contracts.js';
import { VersionedList, versionedListOf } from '../src/versioned-list.js';

const i = (v: number): Intent => ({ kind: 'a', v });
const vs = (list: readonly Intent[] | undefined) => list?.map((x) => x.v);

function change(list: VersionedList, edit: (l: VersionedList) => void): number {
  list.begin();
  edit(list);
  return list.end();
}

describe('VersionedList', () => {
  it('tells what changed since a version, and gives an older version back', () => {
    const list = new VersionedList([i(0), i(1), i(2)]);
    expect(versionedListOf(list.items)).toBe(list);
    const v0 = list.version;
    const v1 = change(list, (l) => l.set(1, i(10)));
    const v2 = change(list, (l) => {
      l.push(i(3));
      l.set(0, i(20));
    });
    const v3 = change(list, (l) => {
      l.pop();
      l.pop();
    });
    expect(vs(list.items)).toEqual([20, 10]);
    expect(list.changedSince(v0)).toEqual({ before: 3, positions: [0, 1] });
    expect(list.changedSince(v1)).toEqual({ before: 3, positions: [0] });
    expect(list.changedSince(v3)).toEqual({ before: 2, positions: [] });
    expect(vs(list.valuesAt(v0))).toEqual([0, 1, 2]);
    expect(vs(list.valuesAt(v1))).toEqual([0, 10, 2]);
    expect(vs(list.valuesAt(v2))).toEqual([20, 10, 2, 3]);
    expect(list.changedSince(v3 + 1)).toBeUndefined();
  });

  it('makes no version for a change that changed nothing', () => {
    const list = new VersionedList([i(0)]);
    const same = list.items[0];
    expect(change(list, (l) => l.set(0, same))).toBe(0);
    expect(change(list, (l) => {
      l.push(i(1));
      l.pop();
    })).toBe(0);
  });

  it('reverts to a version as a new version, so a reader of the refused one learns what went back', () => {
    const list = new VersionedList([i(0), i(1)]);
    const v0 = list.version;
    const v1 = change(list, (l) => {
      l.set(0, i(9));
      l.push(i(2));
    });
    const v2 = list.revertTo(v0)!;
    expect(v2).toBeGreaterThan(v1);
    expect(vs(list.items)).toEqual([0, 1]);
    expect(list.changedSince(v1)).toEqual({ before: 3, positions: [0] });
  });

  it('keeps a bounded log: a reader older than it gets undefined, the newest change is always kept', () => {
    const list = new VersionedList([i(0), i(1)]);
    const v0 = list.version;
    let last = v0;
    for (let n = 0; n < 5000; n++) last = change(list, (l) => l.set(n % 2, i(n)));
    expect(list.changedSince(v0)).toBeUndefined();
    expect(list.valuesAt(v0)).toBeUndefined();
    expect(list.changedSince(last - 1)).toEqual({ before: 2, positions: [1] });
    const grown = change(list, (l) => {
      for (let n = 0; n < 10_000; n++) l.push(i(n));
    });
    const big = change(list, (l) => {
      while (l.length > 0) l.pop();
    });
    expect(list.changedSince(grown)).toEqual({ before: 10_002, positions: [] });
    expect(list.valuesAt(big - 1)?.length).toBe(10_002);
  });

  it('keeps at most 4,096 changes in its log, however long the list (each change costs its entry)', () => {
    const list = new VersionedList(Array.from({ length: 100_000 }, (_, n) => i(n)));
    const v0 = list.version;
    let last = v0;
    for (let n = 0; n < 5000; n++) last = change(list, (l) => l.set(n, i(-n)));
    // 5,000 positions are within a quarter of the list, but not 5,000 entries
    expect(list.changedSince(v0)).toBeUndefined();
    expect(list.changedSince(last - 4096)?.positions).toHaveLength(4096);
    expect(list.valuesAt(last - 4096)?.[4999]).toEqual(i(4999));
  });

  it('refuses a change outside begin/end', () => {
    expect(() => new VersionedList().push(i(0))).toThrow(/outside begin/);
  });
});
