/**
 * Translation of the store into the intents plugin-tc-tproxy consumes (`tproxy.rule`,
 * `tproxy.interface`). Pure.
 */
import type { Intent } from '@bpfsteer/agent-kernel';
import type { InterfaceSettings, Rule } from './rule.js';
import type { ZitiState } from './rule-store.js';
import { RuleTable } from './rule-table.js';

export const RULE_KIND = 'tproxy.rule';
export const INTERFACE_KIND = 'tproxy.interface';
export const EVENT_TOPIC = 'tproxy.event';

export interface TproxyRuleIntent extends Intent {
  readonly kind: typeof RULE_KIND;
  readonly destination: string;
  readonly source: string;
  readonly protocol: 'tcp' | 'udp';
  readonly ports: { readonly low: number; readonly high: number };
  readonly action: 'divert' | 'pass' | 'deny';
  readonly tproxyPort?: number;
  readonly interfaces?: readonly string[];
  readonly service?: string;
}

export interface TproxyInterfaceIntent extends Intent, InterfaceSettings {
  readonly kind: typeof INTERFACE_KIND;
  readonly name: string;
}

export function ruleToIntent(rule: Rule): TproxyRuleIntent {
  return Object.freeze({
    kind: RULE_KIND,
    destination: rule.destination,
    source: rule.source,
    protocol: rule.protocol,
    ports: { low: rule.ports.low, high: rule.ports.high },
    action: rule.action,
    ...(rule.action === 'divert' && { tproxyPort: rule.tproxyPort }),
    ...(rule.interfaces.length > 0 && { interfaces: [...rule.interfaces] }),
    ...(rule.service !== undefined && { service: rule.service }),
  });
}

export function interfaceToIntent(name: string, settings: InterfaceSettings): TproxyInterfaceIntent {
  return {
    kind: INTERFACE_KIND,
    name,
    ...(settings.ssh !== undefined && { ssh: settings.ssh }),
    ...(settings.echo !== undefined && { echo: settings.echo }),
    ...(settings.ipv6 !== undefined && { ipv6: settings.ipv6 }),
    ...(settings.events && { events: { ...settings.events } }),
  };
}

/**
 * The intents of one bucket of the rule table. Buckets are immutable once their table exists and
 * are shared between successive states, so a snapshot after a single insert rebuilds one bucket's
 * intents and reuses the rest.
 */
const bucketIntents = new WeakMap<ReadonlyMap<string, Rule>, readonly TproxyRuleIntent[]>();

/** The complete snapshot of the source: every rule, then every interface override (by name). */
export function stateToIntents(state: ZitiState): Intent[] {
  const intents: Intent[] = [];
  for (const bucket of RuleTable.from(state.rules).buckets()) {
    let built = bucketIntents.get(bucket);
    if (!built) {
      built = Array.from(bucket.values(), ruleToIntent);
      bucketIntents.set(bucket, built);
    }
    for (const intent of built) intents.push(intent);
  }
  for (const name of [...state.interfaces.keys()].sort()) intents.push(interfaceToIntent(name, state.interfaces.get(name)!));
  return intents;
}
