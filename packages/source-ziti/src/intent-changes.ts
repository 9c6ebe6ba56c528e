/**
 * The change that takes the agent from the committed rule table and interface settings to new
 * ones, by key (`IntentSink.commitChange`): only the rules that differ cross, so a change of one
 * rule among 100,000 costs one intent. The first commit is a reset carrying everything. Pure.
 */
import type { Intent, IntentChange } from '@bpfsteer/agent-kernel';
import type { ZitiState } from './rule-store.js';
import { RuleTable } from './rule-table.js';
import { interfaceIntents, ruleToIntent } from './to-intents.js';

/** What the agent holds after a successful commit. */
export interface CommittedIntents {
  readonly table: RuleTable;
  /** interface intents by name */
  readonly interfaces: ReadonlyMap<string, Intent>;
}

const ruleKey = (key: string): string => `rule ${key}`;
const interfaceKey = (name: string): string => `interface ${name}`;

function sameIntent(a: Intent, b: Intent): boolean {
  return JSON.stringify(a) === JSON.stringify(b); // interface intents: a handful of small fields
}

/** The intents of `state` as the agent will hold them once `change` is committed. */
export function intentChange(committed: CommittedIntents | undefined, state: ZitiState): { change: IntentChange; next: CommittedIntents } {
  const table = RuleTable.from(state.rules);
  const interfaces = new Map(interfaceIntents(state).map((i) => [i.name, i as Intent] as const));
  const next = { table, interfaces };
  if (committed === undefined) {
    const upsert: (readonly [string, Intent])[] = [];
    for (const bucket of table.buckets()) for (const [key, rule] of bucket) upsert.push([ruleKey(key), ruleToIntent(rule)]);
    for (const [name, intent] of interfaces) upsert.push([interfaceKey(name), intent]);
    return { change: { reset: true, upsert }, next };
  }
  const { put, putKeys, removedKeys } = RuleTable.changes(committed.table, table);
  const upsert: (readonly [string, Intent])[] = put.map((rule, k) => [ruleKey(putKeys[k]), ruleToIntent(rule)] as const);
  const remove = removedKeys.map(ruleKey);
  for (const [name, intent] of interfaces) {
    const was = committed.interfaces.get(name);
    if (was === undefined || !sameIntent(was, intent)) upsert.push([interfaceKey(name), intent]);
  }
  for (const name of committed.interfaces.keys()) if (!interfaces.has(name)) remove.push(interfaceKey(name));
  return { change: { upsert, remove }, next };
}
