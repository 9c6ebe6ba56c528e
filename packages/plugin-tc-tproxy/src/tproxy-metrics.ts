/**
 * The tc-tproxy plugin's Prometheus families (pure), from what the dataplane reads of its counters
 * (summed over CPUs): each configured interface's packets by verdict and its lost events
 * (tctp_if_stats, as describeInterfaces gives them), and, when the config opts in
 * (`metrics.perService`), the rule hits (tctp_rule_hits) summed by the rules' `service` name. There
 * is never one series per rule: the series stay bounded at 100,000 rules. The rule count and the
 * maps' capacities are the agent's map series (bpfsteer_plugin_map_entries / _capacity).
 */
import type { MetricFamily, MetricSample } from '@bpfsteer/agent-kernel/plugin-kit';
import type { TproxyInterfaceView, TproxyRuleView } from '@bpfsteer/contract-tproxy';

/** An interface's counters, as TproxyDataplane.describeInterfaces reports them. */
export type InterfaceCounters = Pick<TproxyInterfaceView, 'name' | 'passed' | 'diverted' | 'dropped' | 'eventsLost'>;

/** A rule's hits with its service name, as TproxyDataplane.ruleCounters reports them. */
export interface RuleHits {
  readonly intent: Pick<TproxyRuleView['intent'], 'service'>;
  readonly packets: number;
  readonly bytes: number;
}

const VERDICTS = ['passed', 'diverted', 'dropped'] as const;

/**
 * The families of `interfaces`; with `rules` (the per-service opt-in) the hits summed by service
 * name as well (rules without a service are left out; a service whose rules all went drops out).
 */
export function tproxyMetricFamilies(interfaces: readonly InterfaceCounters[], rules?: readonly RuleHits[]): MetricFamily[] {
  const families: MetricFamily[] = [
    {
      name: 'bpfsteer_tproxy_interface_packets_total',
      help: 'Packets the tproxy firewall handled on the ingress of an interface, by verdict: passed, diverted (to a local tproxy listener) or dropped',
      type: 'counter',
      values: interfaces.flatMap((i) => VERDICTS.map((verdict) => ({ labels: { interface: i.name, verdict }, value: i[verdict] }))),
    },
    {
      name: 'bpfsteer_tproxy_events_lost_total',
      help: 'Drop and divert events of an interface lost because the ring buffer was full',
      type: 'counter',
      values: interfaces.map((i) => ({ labels: { interface: i.name }, value: i.eventsLost })),
    },
  ];
  if (rules === undefined) return families;
  const byService = new Map<string, { packets: number; bytes: number }>();
  for (const r of rules) {
    const service = r.intent.service;
    if (service === undefined || service === '') continue;
    const sum = byService.get(service);
    if (sum === undefined) byService.set(service, { packets: r.packets, bytes: r.bytes });
    else {
      sum.packets += r.packets;
      sum.bytes += r.bytes;
    }
  }
  const services = [...byService].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const series = (value: (s: { packets: number; bytes: number }) => number): MetricSample[] =>
    services.map(([service, sum]) => ({ labels: { service }, value: value(sum) }));
  families.push(
    {
      name: 'bpfsteer_tproxy_service_packets_total',
      help: "Packets that matched the tproxy rules of a service (the rules' service name), summed over its rules",
      type: 'counter',
      values: series((s) => s.packets),
    },
    {
      name: 'bpfsteer_tproxy_service_bytes_total',
      help: "Bytes of the packets that matched the tproxy rules of a service (the rules' service name), summed over its rules",
      type: 'counter',
      values: series((s) => s.bytes),
    },
  );
  return families;
}
