/**
 * CLOCK_MONOTONIC timestamps "some time ago" for BPF map values (last-seen times of conntrack or
 * bypass entries), independent of the machine's uptime.
 *
 * A BPF program computes an entry's age as `bpf_ktime_get_ns() - then` in u64 arithmetic, which
 * wraps. `now - age` is negative on a machine up for less than `age`, and no u64 holds it; taken
 * modulo 2^64 it is a valid u64 of which the program computes exactly `age` (and later, more).
 */

const MAX_AGE_NS = (1n << 63n) - 1n;

/** The u64 CLOCK_MONOTONIC value `ageNs` before `nowNs` (default: now, as bpf_ktime_get_ns reads it). */
export function monotonicNsAgo(ageNs: bigint, nowNs: bigint = process.hrtime.bigint()): bigint {
  if (typeof ageNs !== 'bigint' || ageNs < 0n || ageNs > MAX_AGE_NS) {
    throw new RangeError(`monotonicNsAgo: age must be 0 .. 2^63-1 ns, got ${String(ageNs)}`);
  }
  return BigInt.asUintN(64, nowNs - ageNs);
}
