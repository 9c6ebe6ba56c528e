/**
 * The prefix-length index that lets the BPF program probe only the prefix lengths that can match
 * a packet (see bpf/tc_nexthop.h). Pure functions of the rule set; user space recomputes it after
 * every change and writes only the entries that differ.
 */
import type { IpPrefix } from '@bpfsteer/ip';

/** Mirrors the constants in bpf/tc_nexthop.h. */
export const V4_BUCKET_BITS = 16;
export const V4_BUCKETS = 1 << V4_BUCKET_BITS;
export const V4_LONG_MIN = 17;
export const V4_SUB_TABLES = 1024;
export const V4_SUB_CELLS = 256;
export const V4_SUB_LONG_MIN = 25;
export const V6_LONG_MIN = 33;
export const V6_LONG_WORDS = 3;
export const V6_BUCKET_BITS = 16;
export const V6_BUCKETS = 1 << V6_BUCKET_BITS;
/** Mirrors TCNH_V6_HASH_MUL. */
export const V6_HASH_MUL = 2654435761;
export const SLOT_NONE = 0;

/** A prefix with the slot of its rule. */
export interface SlottedPrefix {
  readonly prefix: IpPrefix;
  readonly slot: number;
}

/**
 * IPv4 index: one bucket per /16 (dense arrays indexed by the top 16 bits of the address), and
 * sub-tables of 256 cells (one per /24) for the /16s that hold rules of several lengths above /16.
 */
export interface V4Index {
  /** bit (L - 17): a rule of length L in 17..32 lies inside the /16 */
  readonly longMask: Uint32Array;
  /** slot of the longest rule of length 0..16 covering the /16, 0 = none */
  readonly fallback: Uint32Array;
  /** slot of the single rule longer than /16 inside the /16, 0 = none or several */
  readonly onlySlot: Uint32Array;
  /** 1-based sub-table of a split /16, 0 = not split */
  readonly sub: Uint32Array;
  /** cells of the sub-tables, at (sub - 1) * 256 + third byte: lengths 25..32 (bit L - 25) */
  readonly subMask: Uint32Array;
  /** the longest rule of length 0..24 covering the cell's /24 */
  readonly subFallback: Uint32Array;
  /** the single rule longer than /24 inside the cell's /24 */
  readonly subOnly: Uint32Array;
}

export interface V6Bucket {
  /** word w bit b: a rule of length 33 + 32w + b has its first 32 bits in this bucket */
  readonly longMask: readonly [number, number, number];
  /** slot of the bucket's single rule longer than /32, 0 = several */
  readonly onlySlot: number;
}

/** IPv6 index: the non-empty buckets (by bucket index) and the short lengths in use. */
export interface V6Index {
  readonly buckets: ReadonlyMap<number, V6Bucket>;
  /** bit L set when an IPv6 rule of length L (0..32) exists */
  readonly shortMask: bigint;
  /** the only IPv6 rule of length 0..32 when there is exactly one, else 0 */
  readonly shortOnlySlot: number;
}

export function emptyV4Index(subTables = V4_SUB_TABLES): V4Index {
  const cells = subTables * V4_SUB_CELLS;
  return {
    longMask: new Uint32Array(V4_BUCKETS),
    fallback: new Uint32Array(V4_BUCKETS),
    onlySlot: new Uint32Array(V4_BUCKETS),
    sub: new Uint32Array(V4_BUCKETS),
    subMask: new Uint32Array(cells),
    subFallback: new Uint32Array(cells),
    subOnly: new Uint32Array(cells),
  };
}

/** Number of sub-tables an index has room for. */
export function subTablesOf(index: V4Index): number {
  return index.subMask.length / V4_SUB_CELLS;
}

function top16(bytes: Uint8Array): number {
  return (bytes[0] << 8) | bytes[1];
}

/** Bucket of an IPv6 address or prefix: TCNH_V6_BUCKET_OF of its first 32 bits. */
export function v6BucketOf(bytes: Uint8Array): number {
  const first32 = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  return Math.imul(first32, V6_HASH_MUL) >>> (32 - V6_BUCKET_BITS);
}

/**
 * The IPv4 index of a rule set. /16s whose long rules have two or more distinct lengths get a
 * sub-table; `previous` (what the maps hold) keeps existing sub-table numbers stable, and a number
 * freed now is not reused in the same change (the maps may still point at it until the buckets
 * switch). When no sub-table is left, a /16 stays unsplit: still correct, only more probes.
 */
export function computeV4Index(rules: readonly SlottedPrefix[], previous: V4Index = emptyV4Index()): V4Index {
  const subTables = subTablesOf(previous);
  const index = emptyV4Index(subTables);
  const v4 = rules.filter((r) => r.prefix.family === 4);
  // shorter prefixes first, so a longer covering prefix paints over a shorter one
  const byLength = [...v4].sort((a, b) => a.prefix.length - b.prefix.length);
  for (const { prefix, slot } of byLength) {
    if (prefix.length >= V4_LONG_MIN) break;
    const first = top16(prefix.bytes);
    index.fallback.fill(slot, first, first + 2 ** (V4_BUCKET_BITS - prefix.length));
  }
  const longByBucket = new Map<number, SlottedPrefix[]>();
  for (const r of byLength) {
    if (r.prefix.length < V4_LONG_MIN) continue;
    const b = top16(r.prefix.bytes);
    index.longMask[b] |= 1 << (r.prefix.length - V4_LONG_MIN);
    let list = longByBucket.get(b);
    if (!list) longByBucket.set(b, (list = []));
    list.push(r);
  }
  for (const [b, list] of longByBucket) index.onlySlot[b] = list.length === 1 ? list[0].slot : SLOT_NONE;

  // which /16s get a sub-table, and which number
  const distinct = (b: number) => popcount(index.longMask[b]);
  const candidates = [...longByBucket.keys()].filter((b) => distinct(b) >= 2);
  const usedBefore = new Set<number>();
  for (let b = 0; b < V4_BUCKETS; b++) if (previous.sub[b] !== 0) usedBefore.add(previous.sub[b]);
  const taken = new Set<number>();
  const fresh: number[] = [];
  for (const b of candidates) {
    const n = previous.sub[b];
    if (n >= 1 && n <= subTables && !taken.has(n)) {
      index.sub[b] = n;
      taken.add(n);
    } else {
      fresh.push(b);
    }
  }
  fresh.sort((x, y) => distinct(y) - distinct(x) || x - y);
  let next = 1;
  for (const b of fresh) {
    while (next <= subTables && (taken.has(next) || usedBefore.has(next))) next++;
    if (next > subTables) break;
    index.sub[b] = next;
    taken.add(next++);
  }

  for (const [b, list] of longByBucket) {
    const n = index.sub[b];
    if (n === 0) continue;
    const base = (n - 1) * V4_SUB_CELLS;
    index.subFallback.fill(index.fallback[b], base, base + V4_SUB_CELLS);
    const cellCount = new Map<number, number>();
    for (const { prefix, slot } of list) {
      const cell = base + prefix.bytes[2];
      if (prefix.length < V4_SUB_LONG_MIN) {
        index.subFallback.fill(slot, cell, cell + 2 ** (V4_SUB_LONG_MIN - 1 - prefix.length));
        continue;
      }
      index.subMask[cell] |= 1 << (prefix.length - V4_SUB_LONG_MIN);
      const c = (cellCount.get(cell) ?? 0) + 1;
      cellCount.set(cell, c);
      index.subOnly[cell] = c === 1 ? slot : SLOT_NONE;
    }
  }
  return index;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}

export function computeV6Index(rules: readonly SlottedPrefix[]): V6Index {
  let shortMask = 0n;
  let shortCount = 0;
  let shortOnlySlot = SLOT_NONE;
  const masks = new Map<number, [number, number, number]>();
  const only = new Map<number, number>();
  for (const { prefix, slot } of rules) {
    if (prefix.family !== 6) continue;
    if (prefix.length < V6_LONG_MIN) {
      shortMask |= 1n << BigInt(prefix.length);
      shortOnlySlot = ++shortCount === 1 ? slot : SLOT_NONE;
      continue;
    }
    const index = v6BucketOf(prefix.bytes);
    let mask = masks.get(index);
    if (!mask) {
      masks.set(index, (mask = [0, 0, 0]));
      only.set(index, slot);
    } else {
      only.set(index, SLOT_NONE);
    }
    const bit = prefix.length - V6_LONG_MIN;
    mask[bit >> 5] = (mask[bit >> 5] | (1 << (bit & 31))) >>> 0;
  }
  const buckets = new Map<number, V6Bucket>();
  for (const [index, longMask] of masks) buckets.set(index, { longMask, onlySlot: only.get(index) as number });
  return { buckets, shortMask, shortOnlySlot };
}

/** The IPv4 buckets and sub-table cells whose value differs between two indexes. */
export function diffV4Index(actual: V4Index, desired: V4Index): { buckets: number[]; cells: number[] } {
  const buckets: number[] = [];
  for (let i = 0; i < V4_BUCKETS; i++) {
    if (
      actual.longMask[i] !== desired.longMask[i] ||
      actual.fallback[i] !== desired.fallback[i] ||
      actual.onlySlot[i] !== desired.onlySlot[i] ||
      actual.sub[i] !== desired.sub[i]
    ) {
      buckets.push(i);
    }
  }
  const cells: number[] = [];
  for (let i = 0; i < desired.subMask.length; i++) {
    if (actual.subMask[i] !== desired.subMask[i] || actual.subFallback[i] !== desired.subFallback[i] || actual.subOnly[i] !== desired.subOnly[i]) {
      cells.push(i);
    }
  }
  return { buckets, cells };
}

export function sameV6Bucket(a: V6Bucket, b: V6Bucket): boolean {
  return (
    a.onlySlot === b.onlySlot && a.longMask[0] === b.longMask[0] && a.longMask[1] === b.longMask[1] && a.longMask[2] === b.longMask[2]
  );
}

export const EMPTY_V6_BUCKET: V6Bucket = { longMask: [0, 0, 0], onlySlot: SLOT_NONE };
