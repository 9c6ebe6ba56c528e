/**
 * The connect-redirect plugin's Prometheus families (pure), from its programs' counters summed over
 * CPUs: the connects by outcome (cr_stats; the outcomes are disjoint, their sum is every TCP connect
 * seen), the original destinations recorded at SYN time and the SO_ORIGINAL_DST answers, and each
 * rule's connects (cr_rule_stats, by the rule's position in the applied intents: at most 4,096
 * rules). A rule is labelled with its position, destination and ports as its intent gives them.
 */
import type { MetricFamily } from '@bpfsteer/agent-kernel/plugin-kit';
import type { ConnectRuleSpec } from './compile-rules.js';
import type { ConnectRedirectStats } from './connect-redirect-dataplane.js';

/** A rule's connects, as ConnectRedirectDataplane.ruleStats reads them (by position). */
export interface RuleConnects {
  readonly redirected: number;
  readonly direct: number;
}

/** The rule labels of the intent at `index`: its position, destination and ports ("all" without). */
function ruleLabels(spec: ConnectRuleSpec, index: number): Record<string, string> {
  return { rule: String(index), destination: spec.destination.trim(), ports: spec.ports?.map((p) => String(p).trim()).join(',') ?? 'all' };
}

/** The families of `stats` and of the applied rules `specs` with their counters `perRule` (same positions). */
export function connectRedirectMetricFamilies(stats: ConnectRedirectStats, specs: readonly ConnectRuleSpec[], perRule: readonly RuleConnects[]): MetricFamily[] {
  const rules = specs.map((spec, i) => ({ labels: ruleLabels(spec, i), counts: perRule[i] ?? { redirected: 0, direct: 0 } }));
  return [
    {
      name: 'bpfsteer_connect_redirect_connects_total',
      help:
        'TCP connects from the redirected cgroups, by outcome: redirected (to the local listener), direct (excluded, or no rule), ' +
        "bypassed (the tunnel's mark or cgroup, or the listener itself) or no_storage (to be redirected, but the socket storage failed: went direct)",
      type: 'counter',
      values: [
        { labels: { outcome: 'redirected' }, value: stats.redirected },
        { labels: { outcome: 'direct' }, value: stats.direct },
        { labels: { outcome: 'bypassed' }, value: stats.bypassed },
        { labels: { outcome: 'no_storage' }, value: stats.noStorage },
      ],
    },
    {
      name: 'bpfsteer_connect_redirect_origdst_records_total',
      help: 'Original destinations of redirected connections recorded at SYN time (for SO_ORIGINAL_DST by peer), by outcome: recorded or record_failed',
      type: 'counter',
      values: [
        { labels: { outcome: 'recorded' }, value: stats.recorded },
        { labels: { outcome: 'record_failed' }, value: stats.recordFailed },
      ],
    },
    {
      name: 'bpfsteer_connect_redirect_origdst_queries_total',
      help: 'SO_ORIGINAL_DST asked by the proxy, by outcome: answered, or unknown (a peer with no record)',
      type: 'counter',
      values: [
        { labels: { outcome: 'answered' }, value: stats.origdstAnswered },
        { labels: { outcome: 'unknown' }, value: stats.origdstUnknown },
      ],
    },
    {
      name: 'bpfsteer_connect_redirect_rule_connects_total',
      help: 'TCP connects a connect.redirect rule decided (by its position, destination and ports), by outcome: redirected or direct (an exclusion)',
      type: 'counter',
      values: rules.flatMap((r) => [
        { labels: { ...r.labels, outcome: 'redirected' }, value: r.counts.redirected },
        { labels: { ...r.labels, outcome: 'direct' }, value: r.counts.direct },
      ]),
    },
  ];
}
