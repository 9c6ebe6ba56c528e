/**
 * The change that takes the agent from the committed rule table and interface settings to new
 * ones, by key (`IntentSink.commitChange`): only the rules that differ cross, so a change of one
 * rule among 100,000 costs one intent. The first commit is a reset carrying everything. No I/O.
 */
import { TimeSlicer, type Intent, type IntentChange } from '@bpfsteer/agent-kernel';
import type { InterfaceSettings } from './rule.js';
import type { ZitiState } from './rule-store.js';
import { RuleTable } from './rule-table.js';
import { interfaceIntents, ruleToIntent } from './to-intents.js';

/** What the agent holds after a successful commit. */
export interface CommittedIntents {
  readonly table: RuleTable;
  /** interface intents by name */
  readonly interfaces: ReadonlyMap<string, Intent>;
  /** the settings they were made from (the same map again: nothing to remake or compare) */
  readonly settings: ReadonlyMap<string, InterfaceSettings>;
}

/**
 * A rule's intent key is its store key itself (`tcp 10.0.0.0/24 0.0.0.0/0 443-443`: it starts
 * with its protocol, so it never meets an interface's key): the agent holds the same string as
 * the store, not a copy per rule (~10 MB at 100,000 rules).
 */
const interfaceKey = (name: string): string => `interface ${name}`;

function sameIntent(a: Intent, b: Intent): boolean {
  return JSON.stringify(a) === JSON.stringify(b); // interface intents: a handful of small fields
}

/**
 * The intents of `state` as the agent will hold them once `change` is committed; built in slices of
 * `slicer`'s budget (one intent per changed rule: 100,000 of them take ~50 ms).
 */
export async function intentChange(
  committed: CommittedIntents | undefined,
  state: ZitiState,
  slicer: TimeSlicer = new TimeSlicer(),
): Promise<{ change: IntentChange; next: CommittedIntents }> {
  const table = RuleTable.from(state.rules);
  // a change of rules keeps the settings map: its intents are the committed ones (not remade per request)
  const sameSettings = committed !== undefined && committed.settings === state.interfaces;
  const interfaces = sameSettings ? committed.interfaces : new Map(interfaceIntents(state).map((i) => [i.name, i as Intent] as const));
  const next = { table, interfaces, settings: state.interfaces };
  const upsert: (readonly [string, Intent])[] = [];
  if (committed === undefined) {
    for (const bucket of table.buckets()) {
      if (bucket.size) await slicer.pause();
      bucket.forEach((rule, key) => upsert.push([key, ruleToIntent(rule)])); // (no entry pair per rule)
    }
    for (const [name, intent] of interfaces) upsert.push([interfaceKey(name), intent]);
    return { change: { reset: true, upsert }, next };
  }
  const { put, putKeys, removedKeys } = await RuleTable.changes(committed.table, table, slicer);
  for (let k = 0; k < put.length; k++) {
    if ((k & 255) === 0) await slicer.pause();
    upsert.push([putKeys[k], ruleToIntent(put[k])]);
  }
  const remove = [...removedKeys];
  if (sameSettings) return { change: { upsert, remove }, next };
  for (const [name, intent] of interfaces) {
    const was = committed.interfaces.get(name);
    if (was === undefined || !sameIntent(was, intent)) upsert.push([interfaceKey(name), intent]);
  }
  for (const name of committed.interfaces.keys()) if (!interfaces.has(name)) remove.push(interfaceKey(name));
  return { change: { upsert, remove }, next };
}
