/**
 * The prefix-length index that lets the BPF program probe only the prefix lengths that can match
 * a packet (see bpf/tc_nexthop.h). Pure functions of the rule set; user space recomputes it after
 * every change and writes only the entries that differ.
 */
import type { IpPrefix } from './ip-address.js';

/** Mirrors the constants in bpf/tc_nexthop.h. */
export const V4_BUCKET_BITS = 16;
export const V4_BUCKETS = 1 << V4_BUCKET_BITS;
export const V4_LONG_MIN = 17;
export const V6_LONG_MIN = 33;
export const V6_LONG_WORDS = 3;
export const SLOT_NONE = 0;

/** A prefix with the slot of its rule. */
export interface SlottedPrefix {
  readonly prefix: IpPrefix;
  readonly slot: number;
}

/** IPv4 index: one bucket per /16 (dense arrays indexed by the top 16 bits of the address). */
export interface V4Index {
  /** bit (L - 17): a rule of length L in 17..32 lies inside the /16 */
  readonly longMask: Uint32Array;
  /** slot of the longest rule of length 0..16 covering the /16, 0 = none */
  readonly fallback: Uint32Array;
}

export interface V6Bucket {
  /** word w bit b: a rule of length 33 + 32w + b lies inside this /32 */
  readonly longMask: readonly [number, number, number];
  readonly fallbackSlot: number;
}

/** IPv6 index: buckets for the /32s that hold rules longer than /32, plus the short lengths in use. */
export interface V6Index {
  /** key: the first 32 bits of the address as 8 hex digits */
  readonly buckets: ReadonlyMap<string, V6Bucket>;
  /** bit L set when an IPv6 rule of length L (0..32) exists */
  readonly shortMask: bigint;
}

export function emptyV4Index(): V4Index {
  return { longMask: new Uint32Array(V4_BUCKETS), fallback: new Uint32Array(V4_BUCKETS) };
}

function top16(bytes: Uint8Array): number {
  return (bytes[0] << 8) | bytes[1];
}

/** The first 32 bits of an address as 8 lower-case hex digits (the IPv6 bucket key). */
export function bucketKeyV6(bytes: Uint8Array): string {
  return Buffer.from(bytes.subarray(0, 4)).toString('hex');
}

export function computeV4Index(rules: readonly SlottedPrefix[]): V4Index {
  const index = emptyV4Index();
  // shorter prefixes first, so a longer covering prefix paints over a shorter one
  const short = rules.filter((r) => r.prefix.family === 4 && r.prefix.length < V4_LONG_MIN);
  short.sort((a, b) => a.prefix.length - b.prefix.length);
  for (const { prefix, slot } of short) {
    const first = top16(prefix.bytes);
    index.fallback.fill(slot, first, first + 2 ** (V4_BUCKET_BITS - prefix.length));
  }
  for (const { prefix } of rules) {
    if (prefix.family !== 4 || prefix.length < V4_LONG_MIN) continue;
    index.longMask[top16(prefix.bytes)] |= 1 << (prefix.length - V4_LONG_MIN);
  }
  return index;
}

export function computeV6Index(rules: readonly SlottedPrefix[]): V6Index {
  const v6 = rules.filter((r) => r.prefix.family === 6);
  const shortByLength = new Map<number, Map<string, number>>();
  let shortMask = 0n;
  for (const { prefix, slot } of v6) {
    if (prefix.length >= V6_LONG_MIN) continue;
    shortMask |= 1n << BigInt(prefix.length);
    let m = shortByLength.get(prefix.length);
    if (!m) shortByLength.set(prefix.length, (m = new Map()));
    m.set(bucketKeyV6(prefix.bytes), slot);
  }
  const shortLengths = [...shortByLength.keys()].sort((a, b) => b - a);
  const masks = new Map<string, [number, number, number]>();
  for (const { prefix } of v6) {
    if (prefix.length < V6_LONG_MIN) continue;
    const key = bucketKeyV6(prefix.bytes);
    let mask = masks.get(key);
    if (!mask) masks.set(key, (mask = [0, 0, 0]));
    const bit = prefix.length - V6_LONG_MIN;
    mask[bit >> 5] = (mask[bit >> 5] | (1 << (bit & 31))) >>> 0;
  }
  const buckets = new Map<string, V6Bucket>();
  for (const [key, longMask] of masks) {
    const top = Number.parseInt(key, 16);
    let fallbackSlot = SLOT_NONE;
    for (const len of shortLengths) {
      const maskedTop = len === 0 ? 0 : (top & (0xffffffff << (32 - len))) >>> 0;
      const slot = shortByLength.get(len)!.get(maskedTop.toString(16).padStart(8, '0'));
      if (slot !== undefined) {
        fallbackSlot = slot;
        break;
      }
    }
    buckets.set(key, { longMask, fallbackSlot });
  }
  return { buckets, shortMask };
}

/** Indexes of the IPv4 buckets whose value differs between two indexes. */
export function diffV4Index(actual: V4Index, desired: V4Index): number[] {
  const changed: number[] = [];
  for (let i = 0; i < V4_BUCKETS; i++) {
    if (actual.longMask[i] !== desired.longMask[i] || actual.fallback[i] !== desired.fallback[i]) changed.push(i);
  }
  return changed;
}

export function sameV6Bucket(a: V6Bucket, b: V6Bucket): boolean {
  return (
    a.fallbackSlot === b.fallbackSlot &&
    a.longMask[0] === b.longMask[0] &&
    a.longMask[1] === b.longMask[1] &&
    a.longMask[2] === b.longMask[2]
  );
}
