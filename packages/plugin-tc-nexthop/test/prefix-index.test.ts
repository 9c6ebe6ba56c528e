import { describe, expect, it } from 'vitest';
import { parseCidr } from '../src/ip-address.js';
import { bucketKeyV6, computeV4Index, computeV6Index, diffV4Index, emptyV4Index, V4_BUCKETS } from '../src/prefix-index.js';

const r = (cidr: string, slot: number) => ({ prefix: parseCidr(cidr), slot });
const b16 = (a: number, b: number) => (a << 8) | b;

describe('computeV4Index', () => {
  it('is empty without IPv4 rules', () => {
    const idx = computeV4Index([r('fd00::/8', 1)]);
    expect(idx.longMask.every((x) => x === 0)).toBe(true);
    expect(idx.fallback.every((x) => x === 0)).toBe(true);
  });
  it('sets long-length bits in the /16 bucket', () => {
    const idx = computeV4Index([r('192.168.1.5/32', 1), r('192.168.7.0/24', 2), r('192.168.128.0/17', 3)]);
    expect(idx.longMask[b16(192, 168)]).toBe((1 << 15) | (1 << 7) | (1 << 0));
    expect(idx.longMask.filter((x) => x !== 0)).toHaveLength(1);
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
    const a = computeV4Index([r('10.0.0.0/8', 2), r('10.1.0.0/16', 3), r('10.1.2.0/24', 5)]);
    const b = computeV4Index([r('10.1.2.0/24', 5), r('10.1.0.0/16', 3), r('10.0.0.0/8', 2)]);
    expect(diffV4Index(a, b)).toEqual([]);
  });
});

describe('diffV4Index', () => {
  it('lists changed buckets only', () => {
    const before = computeV4Index([r('10.1.0.0/16', 3)]);
    const after = computeV4Index([r('10.1.0.0/16', 3), r('10.2.3.0/24', 4), r('11.0.0.0/15', 5)]);
    expect(diffV4Index(before, after)).toEqual([b16(10, 2), b16(11, 0), b16(11, 1)]);
    expect(diffV4Index(after, emptyV4Index())).toHaveLength(4);
  });
});

describe('computeV6Index', () => {
  it('collects short lengths and per-/32 buckets with fallbacks', () => {
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
    expect([...idx.buckets.keys()].sort()).toEqual(['20010db8', 'fd000001', 'fd000002']);
    expect(idx.buckets.get('fd000001')).toEqual({ longMask: [2 ** 31, 0, 2 ** 31], fallbackSlot: 3 }); // /64 and /128
    expect(idx.buckets.get('fd000002')).toEqual({ longMask: [1 << 15, 0, 0], fallbackSlot: 2 });
    expect(idx.buckets.get('20010db8')).toEqual({ longMask: [1 << 15, 0, 0], fallbackSlot: 1 });
  });
  it('has no fallback when no short prefix covers the bucket', () => {
    const idx = computeV6Index([r('fd00:1::5/128', 4), r('2001::/16', 1)]);
    expect(idx.buckets.get('fd000001')?.fallbackSlot).toBe(0);
    expect(idx.shortMask).toBe(1n << 16n);
  });
  it('bucketKeyV6 is the first 32 bits', () => {
    expect(bucketKeyV6(parseCidr('2001:db8:1::/48').bytes)).toBe('20010db8');
  });
});
