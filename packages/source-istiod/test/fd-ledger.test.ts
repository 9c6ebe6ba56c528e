import { describe, expect, it } from 'vitest';
import { FdLedger } from '../src/fd-ledger.js';

function ledger() {
  const closed: number[] = [];
  let next = 100;
  const l = new FdLedger({ close: (fd) => void closed.push(fd) });
  const hold = (key: string) => l.hold(key, () => next++);
  return { l, closed, hold };
}

describe('FdLedger', () => {
  it('holds one fd per key, the same number for as long as it is named', () => {
    const { l, closed, hold } = ledger();
    expect(hold('netns:1')).toBe(100);
    expect(hold('netns:1')).toBe(100);
    const a = l.begin(['netns:1']);
    l.settle(a, true);
    expect(hold('netns:1')).toBe(100);
    expect(closed).toEqual([]);
  });

  it('closes an fd only after a commit without it succeeded', () => {
    const { l, closed, hold } = ledger();
    hold('a');
    hold('b');
    l.settle(l.begin(['a', 'b']), true);
    const without = l.begin(['a']); // b still in force while this commit runs
    l.sweep();
    expect(closed).toEqual([]);
    l.settle(without, true);
    expect(closed).toEqual([101]);
    expect(l.fdOf('b')).toBeUndefined();
    expect(l.size).toBe(1);
  });

  it('a refused commit keeps the fds of the snapshot in force and closes those only it named', () => {
    const { l, closed, hold } = ledger();
    hold('a');
    l.settle(l.begin(['a']), true);
    hold('c');
    const refused = l.begin(['c']);
    l.settle(refused, false);
    expect(closed).toEqual([101]);
    expect(l.fdOf('a')).toBe(100);
  });

  it('fds of commits still running stay; fds held for nothing are swept', () => {
    const { l, closed, hold } = ledger();
    hold('a');
    const first = l.begin(['a']);
    hold('b');
    const second = l.begin(['b']);
    hold('orphan');
    l.settle(first, true);
    expect(closed).toEqual([102]); // orphan: named by no snapshot
    l.settle(second, true);
    expect(closed).toEqual([102, 100]);
    expect(l.fdOf('b')).toBe(101);
  });

  it('an older commit settling late does not replace a newer snapshot in force', () => {
    const { l, hold } = ledger();
    hold('a');
    hold('b');
    const older = l.begin(['a']);
    const newer = l.begin(['b']);
    l.settle(newer, true);
    l.settle(older, true);
    expect(l.fdOf('b')).toBe(101);
    expect(l.fdOf('a')).toBeUndefined();
  });

  it('a failing make() holds nothing; closeAll closes everything and refuses more', () => {
    const { l, closed, hold } = ledger();
    expect(() => l.hold('x', () => { throw new Error('EBADF'); })).toThrow('EBADF');
    expect(l.size).toBe(0);
    hold('a');
    const pending = l.begin(['a']);
    l.closeAll();
    expect(closed).toEqual([100]);
    l.settle(pending, true); // nothing to do
    expect(() => hold('b')).toThrow(/closed/);
  });
});
