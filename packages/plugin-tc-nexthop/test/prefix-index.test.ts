import { describe, expect, it } from 'vitest';
import { parsePrefix } from '@bpfsteer/ip';
import { computeV4Index, computeV6Index, diffV4Index, emptyV4Index, v6BucketOf, V4_BUCKETS } from '../src/prefix-index.js';

const r = (cidr: string, slot: number) => ({ prefix: parsePrefix(cidr), slot });
const b16 = (a: number, b: number) => (a << 8) | b;

describe('computeV4Index', () => {
  it('is empty without IPv4 rules', () => {
    const idx = computeV4Index([r('fd00::/8', 1)]);
    expect(idx.longMask.every((x) => x === 0)).toBe(true);
    expect(idx.fallback.every((x) => x === 0)).toBe(true);
  });
  it('sets long-length bits in the /16 bucket', () => {
    const idx = computeV4Index([r('192.168.1.5/32', 1), r('192.168.7.0/24', 2), r('192.168.128.0/17', 3), r('10.1.2.0/24', 4)]);
    expect(idx.longMask[b16(192, 168)]).toBe((1 << 15) | (1 << 7) | (1 << 0));
    expect(idx.onlySlot[b16(192, 168)]).toBe(0); // several long rules: probe the hash
    expect(idx.longMask[b16(10, 1)]).toBe(1 << 7);
    expect(idx.onlySlot[b16(10, 1)]).toBe(4); // a single long rule: checked in place
    expect(idx.longMask.filter((x) => x !== 0)).toHaveLength(2);
    expect(idx.fallback.every((x) => x === 0)).toBe(true);
  });
  it('paints the longest covering short prefix as fallback', () => {
    const idx = computeV4Index([r('0.0.0.0/0', 1), r('10.0.0.0/8', 2), r('10.1.0.0/16', 3), r('10.128.0.0/9', 4)]);
    expect(idx.fallback[b16(9, 0)]).toBe(1);
    expect(idx.fallback[b16(10, 0)]).toBe(2);
    expect(idx.fallback[b16(10, 1)]).toBe(3);
    expect(idx.fallback[b16(10, 127)]).toBe(2);
    expect(idx.fallback[b16(10, 128)]).toBe(4);
    expect(idx.fallback[b16(10, 255)]).toBe(4);
    expect(idx.fallback[b16(11, 0)]).toBe(1);
    expect(idx.fallback[V4_BUCKETS - 1]).toBe(1);
    expect(idx.longMask.every((x) => x === 0)).toBe(true);
  });
  it('order of rules does not matter', () => {
    const a = computeV4Index([r('10.0.0.0/8', 2), r('10.1.0.0/16', 3), r('10.1.2.0/24', 5), r('10.1.2.3/32', 6)]);
    const b = computeV4Index([r('10.1.2.3/32', 6), r('10.1.2.0/24', 5), r('10.1.0.0/16', 3), r('10.0.0.0/8', 2)]);
    expect(diffV4Index(a, b)).toEqual({ buckets: [], cells: [] });
  });
});

describe('diffV4Index', () => {
  it('lists changed buckets only', () => {
    const before = computeV4Index([r('10.1.0.0/16', 3)]);
    const after = computeV4Index([r('10.1.0.0/16', 3), r('10.2.3.0/24', 4), r('11.0.0.0/15', 5)]);
    expect(diffV4Index(before, after)).toEqual({ buckets: [b16(10, 2), b16(11, 0), b16(11, 1)], cells: [] });
    expect(diffV4Index(after, emptyV4Index()).buckets).toHaveLength(4);
  });
});

describe('IPv4 sub-tables', () => {
  const rules = [
    r('0.0.0.0/0', 1),
    r('10.20.0.0/16', 2),
    r('10.20.0.0/18', 3),
    r('10.20.7.0/24', 4),
    r('10.20.7.128/25', 5),
    r('10.20.7.200/32', 6),
    r('10.20.9.9/32', 7),
    r('10.30.1.0/24', 8),
    r('10.30.2.0/24', 9),
  ];
  const idx = computeV4Index(rules);
  const cell = (n: number, third: number) => (n - 1) * 256 + third;
  it('splits only /16s whose long rules have several lengths', () => {
    expect(idx.sub[b16(10, 20)]).toBe(1);
    expect(idx.sub[b16(10, 30)]).toBe(0); // two /24s: one probe length, no split
    expect(idx.longMask[b16(10, 30)]).toBe(1 << 7);
  });
  it('fills the cells of a split /16', () => {
    const n = idx.sub[b16(10, 20)];
    expect(idx.subFallback[cell(n, 0)]).toBe(3); // the /18 covers 10.20.0-63
    expect(idx.subFallback[cell(n, 63)]).toBe(3);
    expect(idx.subFallback[cell(n, 64)]).toBe(2); // then the /16 itself
    expect(idx.subFallback[cell(n, 7)]).toBe(4); // the /24
    expect(idx.subMask[cell(n, 7)]).toBe((1 << 0) | (1 << 7)); // /25 and /32
    expect(idx.subOnly[cell(n, 7)]).toBe(0);
    expect(idx.subMask[cell(n, 9)]).toBe(1 << 7);
    expect(idx.subOnly[cell(n, 9)]).toBe(7);
  });
  it('keeps sub-table numbers and does not reuse a freed one at once', () => {
    const more = [...rules, r('10.40.1.0/24', 10), r('10.40.1.1/32', 11)];
    const again = computeV4Index(more, idx);
    expect(again.sub[b16(10, 20)]).toBe(1);
    expect(again.sub[b16(10, 40)]).toBe(2);
    const without20 = computeV4Index(more.filter((x) => !x.prefix.text.startsWith('10.20.')), again);
    expect(without20.sub[b16(10, 20)]).toBe(0);
    expect(without20.sub[b16(10, 40)]).toBe(2);
    const readd = computeV4Index(more, without20);
    expect(readd.sub[b16(10, 20)]).toBe(1); // free again one change later
  });
  it('leaves /16s unsplit when the sub-tables run out', () => {
    const small = computeV4Index(rules.concat([r('10.40.1.0/24', 10), r('10.40.1.1/32', 11)]), emptyV4Index(1));
    expect([small.sub[b16(10, 20)], small.sub[b16(10, 40)]].sort()).toEqual([0, 1]);
  });
});

describe('computeV6Index', () => {
  const B = (cidr: string) => v6BucketOf(parsePrefix(cidr).bytes);
  it('collects short lengths globally and long lengths per bucket', () => {
    const idx = computeV6Index([
      r('::/0', 1),
      r('fd00::/8', 2),
      r('fd00:1::/32', 3),
      r('fd00:1::5/128', 4),
      r('fd00:1:0:7::/64', 5),
      r('fd00:2::/48', 6),
      r('2001:db8::/48', 7),
      r('10.0.0.0/8', 8),
    ]);
    expect(idx.shortMask).toBe((1n << 0n) | (1n << 8n) | (1n << 32n));
    expect(idx.shortOnlySlot).toBe(0); // three short rules: probe them
    expect(idx.buckets.size).toBe(3);
    expect(idx.buckets.get(B('fd00:1::/32'))).toEqual({ longMask: [2 ** 31, 0, 2 ** 31], onlySlot: 0 }); // /64 and /128
    expect(idx.buckets.get(B('fd00:2::/32'))).toEqual({ longMask: [1 << 15, 0, 0], onlySlot: 6 }); // a single /48
    expect(idx.buckets.get(B('2001:db8::/32'))).toEqual({ longMask: [1 << 15, 0, 0], onlySlot: 7 });
  });
  it('merges the masks of /32s that share a bucket', () => {
    // find two different /32s with the same bucket
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const group = i.toString(16);
      const b = B(`fd00:${group}::/32`);
      if (seen.has(b)) pair = [seen.get(b)!, group];
      else seen.set(b, group);
    }
    const idx = computeV6Index([r(`fd00:${pair[0]}:1::/64`, 1), r(`fd00:${pair[1]}:1::1/128`, 2)]);
    expect(idx.buckets.size).toBe(1);
    expect(idx.buckets.get(B(`fd00:${pair[0]}::/32`))).toEqual({ longMask: [2 ** 31, 0, 2 ** 31], onlySlot: 0 });
  });
  it('v6BucketOf is the multiplicative hash of the first 32 bits', () => {
    expect(v6BucketOf(parsePrefix('2001:db8:1::/48').bytes)).toBe(Number((0x20010db8n * 2654435761n) % 2n ** 32n >> 16n));
    expect(v6BucketOf(parsePrefix('::/0').bytes)).toBe(0);
  });
});

describe('computeV6Index short rules', () => {
  it('names the single short rule so it is checked without probing', () => {
    expect(computeV6Index([r('fd00::/16', 5), r('fd00:1::/64', 6)]).shortOnlySlot).toBe(5);
    expect(computeV6Index([r('fd00::/16', 5), r('fd01::/16', 6)]).shortOnlySlot).toBe(0);
    expect(computeV6Index([r('fd00:1::/64', 6)]).shortOnlySlot).toBe(0);
  });
});
