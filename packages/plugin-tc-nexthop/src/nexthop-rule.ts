/**
 * Redirect rules: "packets whose source is in `source` leave through `interface` towards `nexthop`".
 * Parsing and validation are pure; interface names are resolved to ifindexes elsewhere.
 */
import { interfaceNameProblem, readRedirectNexthop, readRedirectSource } from '@bpfsteer/contract-nexthop/kinds';
import { InvalidArgumentError } from '@bpfsteer/core-bpf';
import type { IpAddress, IpPrefix, IpResult } from '@bpfsteer/ip';

/** A rule as a user or an intent gives it. */
export interface NexthopRuleSpec {
  /** source prefix, e.g. "192.168.1.5/32" or "fd00:1::/64" (a bare address is a host prefix) */
  readonly source: string;
  /** next-hop address of the same family as the source, e.g. "10.111.221.21" */
  readonly nexthop: string;
  /** egress interface name, e.g. "eth1" */
  readonly interface: string;
}

/** A validated, normalised rule. */
export interface NexthopRule {
  readonly source: IpPrefix;
  readonly nexthop: IpAddress;
  readonly interface: string;
}

/** Checks a Linux interface name (@bpfsteer/contract-nexthop's rule); throws InvalidArgumentError. */
export function checkInterfaceName(name: unknown, what = 'interface name'): string {
  const problem = interfaceNameProblem(name, what);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return name as string;
}

/** The value of a field read by the contract; its error as this package's InvalidArgumentError (same message). */
function valueOf<T>(result: IpResult<T>): T {
  if (!result.ok) throw new InvalidArgumentError(result.error.message);
  return result.value;
}

/** A rule's source prefix (a bare address is a host prefix; host bits are refused); throws InvalidArgumentError. */
export function parseSource(text: unknown): IpPrefix {
  return valueOf(readRedirectSource(text));
}

/** A rule's next-hop address; throws InvalidArgumentError. */
export function parseNexthop(text: unknown): IpAddress {
  return valueOf(readRedirectNexthop(text));
}

function isUnusableNexthop(nh: IpAddress): string | undefined {
  const b = nh.bytes;
  if (b.every((x) => x === 0)) return 'the unspecified address';
  if (nh.family === 4) {
    if (b[0] >= 224 && b[0] <= 239) return 'a multicast address';
    if (b.every((x) => x === 255)) return 'the broadcast address';
    if (b[0] === 127) return 'a loopback address';
  } else {
    if (b[0] === 0xff) return 'a multicast address';
    if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1) return 'the loopback address';
  }
  return undefined;
}

/** Validates one rule spec; throws InvalidArgumentError naming the rule and the problem. */
export function parseRule(spec: NexthopRuleSpec): NexthopRule {
  if (spec === null || typeof spec !== 'object') {
    throw new InvalidArgumentError(`invalid redirect rule ${JSON.stringify(spec)}: expected { source, nexthop, interface }`);
  }
  const source = parseSource(spec.source);
  const nexthop = parseNexthop(spec.nexthop);
  const ifname = checkInterfaceName(spec.interface);
  if (source.family !== nexthop.family) {
    throw new InvalidArgumentError(
      `rule for source ${source.text}: nexthop ${nexthop.text} is IPv${nexthop.family} but the source is IPv${source.family}; both must be the same family`,
    );
  }
  const bad = isUnusableNexthop(nexthop);
  if (bad) throw new InvalidArgumentError(`rule for source ${source.text}: nexthop ${nexthop.text} is ${bad}, not a unicast neighbour`);
  return { source, nexthop, interface: ifname };
}

/**
 * Validates a whole rule set. The same source may appear twice only with an identical rule
 * (kept once); two different rules for one source are rejected.
 */
export function parseRuleSet(specs: readonly NexthopRuleSpec[], maxRules: number): NexthopRule[] {
  const bySource = new Map<string, NexthopRule>();
  specs.forEach((spec, i) => {
    let rule: NexthopRule;
    try {
      rule = parseRule(spec);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(`rule #${i + 1}: ${err.message}`);
      throw err;
    }
    const prev = bySource.get(rule.source.text);
    if (prev && !sameRule(prev, rule)) {
      throw new InvalidArgumentError(
        `rule #${i + 1}: source ${rule.source.text} already has nexthop ${prev.nexthop.text} via ${prev.interface}; one rule per source prefix`,
      );
    }
    bySource.set(rule.source.text, rule);
  });
  if (bySource.size > maxRules) {
    throw new InvalidArgumentError(`${bySource.size} redirect rules exceed the capacity of ${maxRules} (maxRules)`);
  }
  return [...bySource.values()];
}

export function sameRule(a: NexthopRule, b: NexthopRule): boolean {
  return a.source.text === b.source.text && a.nexthop.text === b.nexthop.text && a.interface === b.interface;
}
