import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { diffEntries } from '../../src/map-diff.js';

const e = (k: string, v: string) => [Buffer.from(k, 'hex'), Buffer.from(v, 'hex')] as [Buffer, Buffer];
const hex = (list: Buffer[]) => list.map((b) => b.toString('hex'));

describe('diffEntries', () => {
  it('adds, changes, keeps and removes', () => {
    const d = diffEntries([e('01', 'aa'), e('02', 'bb'), e('03', 'cc')], [e('02', 'bb'), e('03', 'cd'), e('04', 'dd')]);
    expect(d.upserts.map(([k, v]) => [k.toString('hex'), v.toString('hex')])).toEqual([['03', 'cd'], ['04', 'dd']]);
    expect(hex(d.removals)).toEqual(['01']);
    expect([d.added, d.changed, d.unchanged]).toEqual([1, 1, 1]);
  });

  it('does nothing when already equal', () => {
    const d = diffEntries([e('01', 'aa')], [e('01', 'aa')]);
    expect([d.upserts.length, d.removals.length, d.unchanged]).toEqual([0, 0, 1]);
  });

  it('empties the map for an empty desired state', () => {
    expect(hex(diffEntries([e('01', 'aa'), e('02', 'bb')], []).removals)).toEqual(['01', '02']);
  });

  it('treats array maps as all-zero by default', () => {
    const d = diffEntries([e('00', '00'), e('01', '05'), e('02', '00')], [e('02', '07')], { arrayLike: true });
    expect(hex(d.removals)).toEqual(['01']);
    expect([d.changed, d.unchanged]).toEqual([1, 1]);
  });

  it('accepts duplicates with equal values and rejects conflicting ones', () => {
    expect(diffEntries([], [e('01', 'aa'), e('01', 'aa')]).added).toBe(1);
    expect(() => diffEntries([], [e('01', 'aa'), e('01', 'ab')])).toThrow(InvalidArgumentError);
  });
});
