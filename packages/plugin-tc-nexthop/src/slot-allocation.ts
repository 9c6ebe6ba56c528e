/**
 * Rule slots: every rule owns one slot of the rules/counters arrays (1..capacity; 0 means none).
 * A rule whose kernel value is unchanged keeps its slot (and its counters). A new rule, or a rule
 * whose interface/next hop changed, gets a slot that no live rule uses, so the program never reads
 * a half-written value: the new slot is written first and then switched to atomically.
 */
import { InvalidArgumentError } from '@bpfsteer/core-bpf';
import type { IpAddress, IpPrefix } from '@bpfsteer/ip';
import type { NexthopRule } from './nexthop-rule.js';

/**
 * A rule resolved against the kernel (interface -> ifindex). `interface` is undefined only for a
 * rule adopted from pinned maps whose ifindex no longer has a name.
 */
export interface ResolvedRule {
  readonly source: IpPrefix;
  readonly nexthop: IpAddress;
  readonly interface: string | undefined;
  readonly ifindex: number;
}

/** A rule as it sits in the maps. */
export interface PlacedRule extends ResolvedRule {
  readonly slot: number;
}

/** Same value in the kernel's rules array (the interface name is not part of it). */
export function sameKernelValue(a: { ifindex: number; nexthop: IpAddress }, b: { ifindex: number; nexthop: IpAddress }): boolean {
  return a.ifindex === b.ifindex && a.nexthop.text === b.nexthop.text;
}

/**
 * Places the desired rules into slots, keyed by canonical source prefix. Slots of unchanged rules
 * are kept; the others take the lowest slot not used before nor now; when the table is too full
 * for that, a changed rule is rewritten in place and a new rule reuses a removed rule's slot.
 */
export function assignSlots(
  previous: ReadonlyMap<string, PlacedRule>,
  desired: readonly ResolvedRule[],
  capacity: number,
): Map<string, PlacedRule> {
  if (desired.length > capacity) {
    throw new InvalidArgumentError(`${desired.length} redirect rules exceed the capacity of ${capacity} (maxRules)`);
  }
  const next = new Map<string, PlacedRule>();
  const taken = new Set<number>();
  const pending: ResolvedRule[] = [];
  for (const d of desired) {
    const prev = previous.get(d.source.text);
    if (prev && sameKernelValue(prev, d)) {
      next.set(d.source.text, { ...resolved(d), slot: prev.slot });
      taken.add(prev.slot);
    } else {
      pending.push(d);
    }
  }
  const previouslyUsed = new Set<number>([...previous.values()].map((p) => p.slot));
  let cursor = 1;
  const freshSlot = (): number | undefined => {
    while (cursor <= capacity && (taken.has(cursor) || previouslyUsed.has(cursor))) cursor++;
    return cursor <= capacity ? cursor++ : undefined;
  };
  const fallbackSlot = (own: number | undefined): number => {
    if (own !== undefined && !taken.has(own)) return own;
    for (const s of previouslyUsed) if (!taken.has(s)) return s;
    // unreachable while desired.length <= capacity
    throw new InvalidArgumentError(`no free rule slot left (capacity ${capacity})`);
  };
  for (const d of pending) {
    const slot = freshSlot() ?? fallbackSlot(previous.get(d.source.text)?.slot);
    taken.add(slot);
    next.set(d.source.text, { ...resolved(d), slot });
  }
  return next;
}

function resolved(d: ResolvedRule): ResolvedRule {
  return { source: d.source, nexthop: d.nexthop, interface: d.interface, ifindex: d.ifindex };
}

/** A validated rule with the ifindex of its interface. */
export function resolveRule(rule: NexthopRule, ifindex: number): ResolvedRule {
  return { source: rule.source, nexthop: rule.nexthop, interface: rule.interface, ifindex };
}
