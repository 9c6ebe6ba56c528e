/**
 * Translation of the store into the intents plugin-tc-tproxy consumes (`tproxy.rule`,
 * `tproxy.interface`, as @bpfsteer/contract-tproxy defines them). Pure.
 */
import type { Intent } from '@bpfsteer/agent-kernel';
import { TPROXY_INTERFACE_KIND, TPROXY_RULE_KIND, type TproxyInterfaceIntent, type TproxyRuleIntent } from '@bpfsteer/contract-tproxy';
import type { InterfaceSettings, Rule } from './rule.js';
import type { ZitiState } from './rule-store.js';
import { RuleTable } from './rule-table.js';

export function ruleToIntent(rule: Rule): TproxyRuleIntent {
  // built without spreads: this runs for every rule a commit adds
  const intent: { -readonly [K in keyof TproxyRuleIntent]: TproxyRuleIntent[K] } = {
    kind: TPROXY_RULE_KIND,
    destination: rule.destination,
    source: rule.source,
    protocol: rule.protocol,
    ports: rule.ports, // rules are never modified: the intent shares the object
    action: rule.action,
  };
  if (rule.action === 'divert') intent.tproxyPort = rule.tproxyPort;
  if (rule.interfaces.length > 0) intent.interfaces = [...rule.interfaces];
  if (rule.service !== undefined) intent.service = rule.service;
  return Object.freeze(intent);
}

export function interfaceToIntent(name: string, settings: InterfaceSettings): TproxyInterfaceIntent {
  return Object.freeze({
    kind: TPROXY_INTERFACE_KIND,
    name,
    ...(settings.ssh !== undefined && { ssh: settings.ssh }),
    ...(settings.echo !== undefined && { echo: settings.echo }),
    ...(settings.ipv6 !== undefined && { ipv6: settings.ipv6 }),
    ...(settings.events && { events: { ...settings.events } }),
  });
}

/** The interface overrides of a state as intents, by name. */
export function interfaceIntents(state: ZitiState): TproxyInterfaceIntent[] {
  return [...state.interfaces.keys()].sort().map((name) => interfaceToIntent(name, state.interfaces.get(name)!));
}

/**
 * The complete snapshot of a state: every rule (in table order), then every interface override (by
 * name). The service keeps the same set up to date incrementally (RuleIntentList).
 */
export function stateToIntents(state: ZitiState): Intent[] {
  const intents: Intent[] = [];
  for (const bucket of RuleTable.from(state.rules).buckets()) for (const rule of bucket.values()) intents.push(ruleToIntent(rule));
  for (const intent of interfaceIntents(state)) intents.push(intent);
  return intents;
}
