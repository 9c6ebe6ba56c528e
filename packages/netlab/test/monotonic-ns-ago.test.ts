import { describe, expect, it } from 'vitest';
import { monotonicNsAgo } from '../src/index.js';

const S = 1_000_000_000n;
const U64 = 1n << 64n;
/** the age a BPF program computes: `now - then` in u64 arithmetic (bpf_ktime_get_ns() - value) */
const programAge = (now: bigint, then: bigint) => BigInt.asUintN(64, now - then);

describe('monotonicNsAgo', () => {
  it('is plain subtraction on a machine up longer than the age', () => {
    expect(monotonicNsAgo(10n * S, 7200n * S)).toBe(7190n * S);
    expect(monotonicNsAgo(0n, 5n)).toBe(5n);
  });

  it('on a machine up for less than the age (100 s, one hour ago) gives a u64 whose program age is still the age', () => {
    const now = 100n * S;
    const hourAgo = monotonicNsAgo(3601n * S, now);
    // `now - age` is negative here: no u64 can hold it (what failed on a freshly booted CI machine)
    expect(now - 3601n * S).toBeLessThan(0n);
    expect(hourAgo).toBeGreaterThanOrEqual(0n);
    expect(hourAgo).toBeLessThan(U64);
    expect(programAge(now, hourAgo)).toBe(3601n * S);
    // and an instant later the program sees it a little older, not younger
    expect(programAge(now + S, hourAgo)).toBe(3602n * S);
  });

  it('reads CLOCK_MONOTONIC (process.hrtime) by default', () => {
    const before = process.hrtime.bigint();
    const then = monotonicNsAgo(2n * S);
    const after = process.hrtime.bigint();
    expect(programAge(before, then)).toBeLessThanOrEqual(2n * S);
    expect(programAge(after, then)).toBeGreaterThanOrEqual(2n * S);
  });

  it.each([-1n, 1n << 63n])('refuses the age %s', (age) => {
    expect(() => monotonicNsAgo(age, 100n * S)).toThrow(/age must be 0 \.\. 2\^63-1 ns/);
  });
});
