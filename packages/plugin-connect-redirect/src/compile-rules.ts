/**
 * The `connect.redirect` intents as the entries of the cr_rules trie (pure): one entry per distinct
 * destination prefix, holding every port range that applies to an address that prefix is the
 * longest match for — its own rules' ranges, then those of the shorter prefixes containing it —
 * ordered so that the first range holding the port decides (bpf/connect_redirect.h):
 * longest prefix first; at one prefix, direct rules before redirecting ones; then intent order.
 * Addresses are IPv4-mapped in the trie, so an IPv4 /n is a /96+n.
 */
import { readConnectDestination, readPortRange, type PortRange } from '@bpfsteer/contract-connect/kinds';
import { formatIp, prefixContains, toMappedIpv6, type IpPrefix } from '@bpfsteer/ip';
import { IntentRejectedError } from '@bpfsteer/agent-kernel/plugin-kit';
import { ACTION_DIRECT, ACTION_REDIRECT, MAX_RANGES_PER_PREFIX, MAX_RULES } from './connect-redirect-limits.js';

/** A `connect.redirect` intent's fields (checked here again: the worker loads no schema). */
export interface ConnectRuleSpec {
  readonly destination: string;
  readonly ports?: readonly (string | number)[];
  readonly direct?: boolean;
}

export interface RuleRange {
  readonly portLo: number;
  readonly portHi: number;
  /** the intent's position: its counters' index */
  readonly rule: number;
  readonly action: typeof ACTION_DIRECT | typeof ACTION_REDIRECT;
}

export interface TrieEntry {
  /** 0..128 in the IPv4-mapped space */
  readonly prefixlen: number;
  /** IPv6 text (IPv4-mapped for IPv4) of the network */
  readonly address: string;
  readonly ranges: readonly RuleRange[];
}

interface Rule {
  readonly prefix: IpPrefix;
  /** in the mapped space */
  readonly length: number;
  readonly bytes: Uint8Array;
  readonly ranges: readonly PortRange[];
  readonly action: RuleRange['action'];
  readonly index: number;
}

const EVERY_PORT: readonly PortRange[] = [{ from: 1, to: 65535 }];

/** Reads and checks the rules; IntentRejectedError naming every bad one. */
export function readRules(specs: readonly ConnectRuleSpec[]): Rule[] {
  if (specs.length > MAX_RULES) throw new IntentRejectedError(`connect-redirect: ${specs.length} rules, at most ${MAX_RULES}`);
  const problems: string[] = [];
  const rules = specs.map((spec, index): Rule | undefined => {
    const d = readConnectDestination(spec.destination);
    if (!d.ok) {
      problems.push(`rule ${index}: ${d.error.message}`);
      return undefined;
    }
    const ranges: PortRange[] = [];
    for (const p of spec.ports ?? []) {
      const r = readPortRange(p);
      if (r.ok) ranges.push(r.value);
      else problems.push(`rule ${index}: ${r.error}`);
    }
    const mapped = toMappedIpv6({ family: d.value.family, bytes: d.value.bytes, text: d.value.text });
    return {
      prefix: d.value,
      length: d.value.family === 4 ? 96 + d.value.length : d.value.length,
      bytes: mapped.bytes,
      ranges: spec.ports === undefined ? EVERY_PORT : ranges,
      action: spec.direct ? ACTION_DIRECT : ACTION_REDIRECT,
      index,
    };
  });
  if (problems.length > 0) throw new IntentRejectedError(`connect-redirect: ${problems.join('; ')}`);
  return rules as Rule[];
}

const mappedPrefix = (r: Rule) => ({ family: 6 as const, bytes: r.bytes, length: r.length });

/** The trie's entries for `specs`, by "<address>/<prefixlen>". */
export function compileRules(specs: readonly ConnectRuleSpec[]): Map<string, TrieEntry> {
  const rules = readRules(specs);
  const byPrefix = new Map<string, Rule>();
  for (const r of rules) {
    const key = `${formatIp(r.bytes)}/${r.length}`;
    if (!byPrefix.has(key)) byPrefix.set(key, r);
  }
  const ordered = [...rules].sort((a, b) => b.length - a.length || a.action - b.action || a.index - b.index);
  const entries = new Map<string, TrieEntry>();
  for (const [key, at] of byPrefix) {
    const ranges = ordered
      .filter((r) => prefixContains(mappedPrefix(r), mappedPrefix(at)))
      .flatMap((r) => r.ranges.map((p) => ({ portLo: p.from, portHi: p.to, rule: r.index, action: r.action })));
    if (ranges.length > MAX_RANGES_PER_PREFIX) {
      throw new IntentRejectedError(
        `connect-redirect: ${at.prefix.text} is covered by ${ranges.length} port ranges (its rules' and those of the prefixes holding it), at most ${MAX_RANGES_PER_PREFIX}`,
      );
    }
    entries.set(key, { prefixlen: at.length, address: formatIp(at.bytes), ranges });
  }
  return entries;
}
