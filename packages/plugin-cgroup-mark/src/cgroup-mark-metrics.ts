/**
 * The cgroup-mark plugin's Prometheus families (pure): the marked SYNs its program saw leave the
 * proxy's cgroup (cgm_stats, summed over CPUs), by what became of them; the outcomes are disjoint
 * (bpf/cgroup_mark.h), so their sum is every marked SYN. The entries of mesh_bypass are the agent's
 * map series (bpfsteer_plugin_map_entries{map="mesh_bypass"}).
 */
import type { MetricFamily } from '@bpfsteer/agent-kernel/plugin-kit';
import type { CgroupMarkStats } from './cgroup-mark-dataplane.js';

/** The families of the program's counters. */
export function cgroupMarkMetricFamilies(stats: CgroupMarkStats): MetricFamily[] {
  return [
    {
      name: 'bpfsteer_cgroup_mark_marked_syns_total',
      help:
        "SYNs with the proxy's mark leaving its cgroup, by outcome: recorded (in mesh_bypass), not_local (to another host, with localOnly) " +
        'or record_failed (the map update failed)',
      type: 'counter',
      values: [
        { labels: { outcome: 'recorded' }, value: stats.recorded },
        { labels: { outcome: 'not_local' }, value: stats.notLocal },
        { labels: { outcome: 'record_failed' }, value: stats.recordFailed },
      ],
    },
  ];
}
