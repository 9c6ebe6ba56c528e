/**
 * Rules <-> map entries (the value shapes of map-codecs.ts), both ways, as pure functions:
 * prefix keys, rule values, index entries, and the adoption of what pinned maps already hold.
 */
import { hasHostBits, ipFromBytes, maxPrefixLength, networkOf, type IpAddress, type IpFamily, type IpPrefix } from '@bpfsteer/ip';
import type { PlacedRule } from './slot-allocation.js';

export const AF_INET = 2;
export const AF_INET6 = 10;

export interface PrefixKey {
  readonly prefixlen: number;
  readonly addr_be: Uint8Array;
}

export interface RuleValue {
  readonly ifindex: number;
  readonly nh_family: number;
  readonly nh_addr_be: Uint8Array;
  readonly src_prefixlen: number;
  readonly src_addr_be: Uint8Array;
}

/** Key of a prefix in tcnh_v4_pfx / tcnh_v6_pfx. */
export function prefixKey(prefix: IpPrefix): PrefixKey {
  return { prefixlen: prefix.length, addr_be: new Uint8Array(prefix.bytes) };
}

function addr16(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out.set(bytes, 0);
  return out;
}

/** Value of a rule in tcnh_rules (IPv4 addresses in the first 4 bytes). */
export function ruleValue(rule: { source: IpPrefix; ifindex: number; nexthop: IpAddress }): RuleValue {
  return {
    ifindex: rule.ifindex,
    nh_family: rule.nexthop.family === 4 ? AF_INET : AF_INET6,
    nh_addr_be: addr16(rule.nexthop.bytes),
    src_prefixlen: rule.source.length,
    src_addr_be: addr16(rule.source.bytes),
  };
}

/** The all-zero value of an unused slot. */
export function emptyRuleValue(): RuleValue {
  return { ifindex: 0, nh_family: 0, nh_addr_be: new Uint8Array(16), src_prefixlen: 0, src_addr_be: new Uint8Array(16) };
}

/** What the maps hold, as read back. */
export interface KernelRules {
  readonly v4Prefixes: readonly (readonly [PrefixKey, number])[];
  readonly v6Prefixes: readonly (readonly [PrefixKey, number])[];
  /** non-empty rule slots (nh_family != 0) */
  readonly rules: ReadonlyMap<number, RuleValue>;
}

export interface AdoptedState {
  readonly placed: Map<string, PlacedRule>;
  /** prefix entries that cannot be a valid rule (to delete) */
  readonly strayV4: PrefixKey[];
  readonly strayV6: PrefixKey[];
  /** non-empty slots no valid prefix uses (to clear) */
  readonly straySlots: number[];
}

function prefixFromKey(family: IpFamily, key: PrefixKey): IpPrefix | undefined {
  const max = maxPrefixLength(family);
  if (!Number.isInteger(key.prefixlen) || key.prefixlen < 0 || key.prefixlen > max) return undefined;
  if (key.addr_be.length !== max / 8 || hasHostBits(key.addr_be, key.prefixlen)) return undefined;
  return networkOf({ family, bytes: key.addr_be }, key.prefixlen);
}

/**
 * Rebuilds the placed rules from what pinned maps hold (after a restart). Entries that cannot be a
 * consistent rule — bad key, slot out of range or empty, next hop of another family, a slot used
 * twice — are reported as strays so the caller removes them.
 */
export function adoptRules(
  kernel: KernelRules,
  capacity: number,
  nameOf: (ifindex: number) => string | undefined,
): AdoptedState {
  const placed = new Map<string, PlacedRule>();
  const strayV4: PrefixKey[] = [];
  const strayV6: PrefixKey[] = [];
  const usedSlots = new Set<number>();
  const consider = (family: IpFamily, key: PrefixKey, slot: number, strays: PrefixKey[]) => {
    const prefix = prefixFromKey(family, key);
    const value = kernel.rules.get(slot);
    const wantFamily = family === 4 ? AF_INET : AF_INET6;
    const consistent =
      prefix !== undefined &&
      slot >= 1 &&
      slot <= capacity &&
      value !== undefined &&
      value.nh_family === wantFamily &&
      value.ifindex > 0 &&
      value.src_prefixlen === prefix.length &&
      prefix.bytes.every((b, i) => b === value.src_addr_be[i]) &&
      !usedSlots.has(slot);
    if (!consistent) {
      strays.push(key);
      return;
    }
    usedSlots.add(slot);
    const nexthop: IpAddress = ipFromBytes(value.nh_addr_be.subarray(0, family === 4 ? 4 : 16));
    placed.set(prefix.text, { source: prefix, nexthop, interface: nameOf(value.ifindex), ifindex: value.ifindex, slot });
  };
  for (const [key, slot] of kernel.v4Prefixes) consider(4, key, slot, strayV4);
  for (const [key, slot] of kernel.v6Prefixes) consider(6, key, slot, strayV6);
  const straySlots = [...kernel.rules.keys()].filter((s) => !usedSlots.has(s)).sort((a, b) => a - b);
  return { placed, strayV4, strayV6, straySlots };
}
