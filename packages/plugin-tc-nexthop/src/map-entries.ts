/**
 * Rules <-> map entries (the value shapes of map-codecs.ts), both ways, as pure functions:
 * prefix keys, rule values, index entries, and the adoption of what pinned maps already hold.
 */
import { formatIp, maskBytes, type IpAddress, type IpFamily, type IpPrefix } from './ip-address.js';
import type { V6Bucket } from './prefix-index.js';
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
}

export interface V6BucketValue {
  readonly long_mask: number[];
  readonly fallback_slot: number;
}

/** Key of a prefix in tcnh_v4_pfx / tcnh_v6_pfx. */
export function prefixKey(prefix: IpPrefix): PrefixKey {
  return { prefixlen: prefix.length, addr_be: new Uint8Array(prefix.bytes) };
}

/** Value of a rule in tcnh_rules (an IPv4 next hop in the first 4 bytes). */
export function ruleValue(rule: { ifindex: number; nexthop: IpAddress }): RuleValue {
  const nh = new Uint8Array(16);
  nh.set(rule.nexthop.bytes, 0);
  return { ifindex: rule.ifindex, nh_family: rule.nexthop.family === 4 ? AF_INET : AF_INET6, nh_addr_be: nh };
}

/** The all-zero value of an unused slot. */
export function emptyRuleValue(): RuleValue {
  return { ifindex: 0, nh_family: 0, nh_addr_be: new Uint8Array(16) };
}

export function v6BucketKeyBytes(key: string): Uint8Array {
  return new Uint8Array(Buffer.from(key, 'hex'));
}

export function v6BucketValue(b: V6Bucket): V6BucketValue {
  return { long_mask: [...b.longMask], fallback_slot: b.fallbackSlot };
}

export function v6BucketFromValue(v: V6BucketValue): V6Bucket {
  return { longMask: [v.long_mask[0] >>> 0, v.long_mask[1] >>> 0, v.long_mask[2] >>> 0], fallbackSlot: v.fallback_slot };
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
  const max = family === 4 ? 32 : 128;
  if (!Number.isInteger(key.prefixlen) || key.prefixlen < 0 || key.prefixlen > max) return undefined;
  if (key.addr_be.length !== max / 8) return undefined;
  const masked = maskBytes(key.addr_be, key.prefixlen);
  if (!masked.every((b, i) => b === key.addr_be[i])) return undefined;
  return { family, bytes: masked, length: key.prefixlen, text: `${formatIp(masked)}/${key.prefixlen}` };
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
    if (!prefix || slot < 1 || slot > capacity || !value || value.nh_family !== wantFamily || value.ifindex <= 0 || usedSlots.has(slot)) {
      strays.push(key);
      return;
    }
    usedSlots.add(slot);
    const nhBytes = value.nh_addr_be.slice(0, family === 4 ? 4 : 16);
    const nexthop: IpAddress = { family, bytes: nhBytes, text: formatIp(nhBytes) };
    placed.set(prefix.text, { source: prefix, nexthop, interface: nameOf(value.ifindex), ifindex: value.ifindex, slot });
  };
  for (const [key, slot] of kernel.v4Prefixes) consider(4, key, slot, strayV4);
  for (const [key, slot] of kernel.v6Prefixes) consider(6, key, slot, strayV6);
  const straySlots = [...kernel.rules.keys()].filter((s) => !usedSlots.has(s)).sort((a, b) => a - b);
  return { placed, strayV4, strayV6, straySlots };
}
