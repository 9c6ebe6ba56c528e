/**
 * The order the API lists rules in: by destination prefix, source prefix (family, address, then
 * length), protocol, low port, high port. Sorted in slices of a TimeSlicer: one sort of 100,000
 * rules with a comparator that compares prefixes takes ~1 s.
 */
import { TimeSlicer } from '@bpfsteer/agent-kernel';
import { tryParsePrefix, type IpPrefix } from '@bpfsteer/ip';
import type { Rule } from './rule.js';

/** Sorted runs of this many items are merged (each run is one Array.prototype.sort step). */
const RUN = 1024;

/**
 * A text whose code-unit order is the prefix order of comparePrefixes (@bpfsteer/ip): family,
 * address bytes, length. Fixed length for a family, so keys can be concatenated.
 */
function prefixKey(p: IpPrefix): string {
  return String.fromCharCode(p.family, ...p.bytes, p.length);
}

/** A text whose order (plain `<`) is the listing order of rules. */
function ruleSortKey(rule: Rule, prefix: (text: string) => string): string {
  // the protocol ends with \0 (below every character), so a protocol that is a prefix of another sorts first
  return `${prefix(rule.destination)}${prefix(rule.source)}${rule.protocol}\0${String.fromCharCode(rule.ports.low, rule.ports.high)}`;
}

/** `rules` in the listing order (a new array), computed in slices. Throws on a CIDR the store cannot hold. */
export async function sortRulesInSlices(rules: readonly Rule[], slicer: TimeSlicer = new TimeSlicer()): Promise<Rule[]> {
  const prefixKeys = new Map<string, string>();
  const prefix = (text: string): string => {
    let key = prefixKeys.get(text);
    if (key === undefined) {
      const p = tryParsePrefix(text);
      if (!p.ok) throw new Error(`store holds an invalid CIDR ${text}`);
      prefixKeys.set(text, (key = prefixKey(p.value)));
    }
    return key;
  };
  // the positions are sorted by the rules' keys (no object per rule: less for the collector to copy)
  const keys = new Array<string>(rules.length);
  for (let i = 0; i < rules.length; i++) {
    if ((i & 255) === 0) await slicer.pause();
    keys[i] = ruleSortKey(rules[i]!, prefix);
  }
  const order = await mergeSortInSlices(rules.length, (a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b), slicer);
  const sorted = new Array<Rule>(rules.length);
  for (let i = 0; i < order.length; i++) {
    if ((i & 1023) === 0) await slicer.pause();
    sorted[i] = rules[order[i]!]!;
  }
  return sorted;
}

/**
 * The positions 0..n-1 sorted by `compare` (a total order): runs of RUN sorted in one step each,
 * then merged pairwise, pausing every 1024 positions.
 */
async function mergeSortInSlices(n: number, compare: (a: number, b: number) => number, slicer: TimeSlicer): Promise<Uint32Array> {
  let from = new Uint32Array(n);
  for (let i = 0; i < n; i++) from[i] = i;
  for (let i = 0; i < n; i += RUN) {
    await slicer.pause();
    from.subarray(i, Math.min(i + RUN, n)).sort(compare);
  }
  let to = new Uint32Array(n);
  for (let width = RUN; width < n; width *= 2) {
    let done = 0;
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let a = lo;
      let b = mid;
      while (a < mid || b < hi) {
        if ((done++ & 1023) === 0) await slicer.pause();
        to[a + b - mid] = b >= hi || (a < mid && compare(from[a]!, from[b]!) <= 0) ? from[a++]! : from[b++]!;
      }
    }
    [from, to] = [to, from];
  }
  return from;
}
