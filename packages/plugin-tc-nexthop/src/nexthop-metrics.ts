/**
 * The tc-nexthop plugin's Prometheus families (pure): the packets and bytes each redirect rule sent
 * to its next hop (tcnh_counters, summed over CPUs, as NexthopDataplane.list gives them), one series
 * per rule, labelled by its source prefix, next hop and interface. The rule table holds up to
 * `maxRules` rules (16,384 by default, at most 1,048,576): a large table makes as many series.
 */
import type { MetricFamily } from '@bpfsteer/agent-kernel/plugin-kit';
import type { RedirectRuleStatus } from './nexthop-dataplane.js';

/** A rule's counters, as NexthopDataplane.list reports them. */
export type RuleCounters = Pick<RedirectRuleStatus, 'source' | 'nexthop' | 'interface' | 'ifindex' | 'packets' | 'bytes'>;

/** The families of `rules`; a rule whose interface has no name any more is labelled with its ifindex. */
export function nexthopMetricFamilies(rules: readonly RuleCounters[]): MetricFamily[] {
  const labels = (r: RuleCounters) => ({ source: r.source, via: r.nexthop, interface: r.interface ?? String(r.ifindex) });
  return [
    {
      name: 'bpfsteer_nexthop_redirected_packets_total',
      help: 'Packets a tc-nexthop rule redirected to its next hop (by the rule: source prefix, next hop, interface)',
      type: 'counter',
      values: rules.map((r) => ({ labels: labels(r), value: r.packets })),
    },
    {
      name: 'bpfsteer_nexthop_redirected_bytes_total',
      help: 'Bytes of the packets a tc-nexthop rule redirected to its next hop (by the rule: source prefix, next hop, interface)',
      type: 'counter',
      values: rules.map((r) => ({ labels: labels(r), value: r.bytes })),
    },
  ];
}
