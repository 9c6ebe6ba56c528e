/**
 * The sklookup plugin's Prometheus families (pure): each pod's sk_lookup outcomes (skl_counters of
 * its slot, summed over CPUs), labelled with the pod's uid as its `sklookup.pod` intent names it, and
 * those of slot 0 (lookups whose destination is no pod address) as a family of their own. The
 * outcomes are disjoint (bpf/sk_lookup_mesh.h): a lookup is counted once.
 */
import type { MetricFamily } from '@bpfsteer/agent-kernel/plugin-kit';
import type { LookupCounters } from './sklookup-maps.js';

/** Each outcome label and its counter field. */
const OUTCOMES = [
  ['diverted', 'diverted'],
  ['passed', 'passed'],
  ['skipped', 'skipped'],
  ['bypassed', 'bypassed'],
  ['no_socket', 'noSocket'],
  ['assign_failed', 'assignFailed'],
] as const satisfies readonly (readonly [string, keyof LookupCounters])[];

/** The counters as SklookupDataplane.lookupCounters reads them. */
export interface SklookupCounters {
  /** each pod in force, by the uid of its `sklookup.pod` intent */
  readonly pods: readonly { readonly uid: string; readonly counters: LookupCounters }[];
  /** slot 0: lookups whose destination is no pod address */
  readonly unattributed: LookupCounters;
}

/** The families of the pods' counters and of the unattributed ones (slot 0). */
export function sklookupMetricFamilies({ pods, unattributed }: SklookupCounters): MetricFamily[] {
  return [
    {
      name: 'bpfsteer_sklookup_lookups_total',
      help:
        "New TCP connections to a pod's address looked up by the mesh sk_lookup program, by outcome: diverted (to the pod's HBONE listener), " +
        'passed (not mesh to mesh), skipped (skip port), bypassed (the proxy\'s own connection), no_socket (no listener for the address) or assign_failed',
      type: 'counter',
      values: pods.flatMap((p) => OUTCOMES.map(([outcome, field]) => ({ labels: { pod: p.uid, outcome }, value: p.counters[field] }))),
    },
    {
      name: 'bpfsteer_sklookup_unattributed_lookups_total',
      help: "New TCP connections in a meshed pod's network namespace whose destination is no pod address, by outcome (as bpfsteer_sklookup_lookups_total)",
      type: 'counter',
      values: OUTCOMES.map(([outcome, field]) => ({ labels: { outcome }, value: unattributed[field] })),
    },
  ];
}
