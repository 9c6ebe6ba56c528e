/**
 * Pure translations between plugins' metric families and prom-client's JSON form: the families the
 * agent derives from plugins' status reports (each map's entries and capacity), and the checks a
 * plugin's own families pass before they are served.
 */
import type { MapStatus, MetricFamily } from './contracts.js';

/** What the agent knows of a plugin for its map families. */
export interface PluginMaps {
  readonly id: string;
  readonly maps: readonly MapStatus[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** `bpfsteer_plugin_map_entries` and `bpfsteer_plugin_map_capacity`, one series per plugin and map. */
export function mapFamilies(plugins: readonly PluginMaps[]): MetricFamily[] {
  const series = (value: (m: MapStatus) => number) =>
    plugins.flatMap((p) => p.maps.map((m) => ({ labels: { plugin: p.id, map: m.name }, value: value(m) })));
  return [
    { name: 'bpfsteer_plugin_map_entries', help: 'Entries in a BPF map of a plugin', type: 'gauge', values: series((m) => m.entries) },
    { name: 'bpfsteer_plugin_map_capacity', help: 'Most entries a BPF map of a plugin can hold (max_entries)', type: 'gauge', values: series((m) => m.maxEntries) },
  ];
}

/** Why a family cannot be served (a plugin's mistake), or undefined when it can. */
export function familyProblem(family: MetricFamily): string | undefined {
  if (!METRIC_NAME.test(family.name)) return `invalid metric name ${JSON.stringify(family.name)}`;
  if (family.type !== 'counter' && family.type !== 'gauge') return `metric ${family.name}: type must be counter or gauge`;
  for (const { labels, value } of family.values) {
    if (typeof value !== 'number' || Number.isNaN(value)) return `metric ${family.name}: a value is not a number`;
    if (family.type === 'counter' && value < 0) return `counter ${family.name}: a value is negative`;
    for (const name of Object.keys(labels ?? {})) {
      if (!LABEL_NAME.test(name) || name.startsWith('__')) return `metric ${family.name}: invalid label name ${JSON.stringify(name)}`;
    }
  }
  return undefined;
}

/** A family in prom-client's JSON form (`Registry.getMetricsAsJSON`), as `AggregatorRegistry.aggregate` takes it. */
export function familyJson(family: MetricFamily): object {
  return {
    name: family.name,
    help: family.help,
    type: family.type,
    aggregator: 'sum',
    values: family.values.map(({ labels, value }) => ({ labels: { ...labels }, value })),
  };
}
