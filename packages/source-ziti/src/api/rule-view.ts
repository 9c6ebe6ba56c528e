/** A rule as the API shows it. */
import type { z } from 'zod';
import type { Rule } from '../rule.js';
import type { ListedRule } from '../ziti-service.js';
import type { listedRuleSchema, ruleSchema } from './schemas.js';

export type RuleView = z.output<typeof ruleSchema>;
export type ListedRuleView = z.output<typeof listedRuleSchema>;

/** A rule as the API shows it (no undefined fields; the keys in the order of ruleSchema). */
export function ruleView(r: Rule): RuleView {
  return {
    destination: r.destination,
    source: r.source,
    protocol: r.protocol,
    ports: { low: r.ports.low, high: r.ports.high },
    action: r.action,
    ...(r.tproxyPort !== undefined && { tproxyPort: r.tproxyPort }),
    interfaces: [...r.interfaces],
    ...(r.service !== undefined && { service: r.service }),
    ...(r.owners && {
      owners: r.owners.map((o) => ({
        service: o.service,
        action: o.action,
        ...(o.tproxyPort !== undefined && { tproxyPort: o.tproxyPort }),
        interfaces: [...o.interfaces],
      })),
    }),
  };
}

/** A listed rule as the API shows it (the keys in the order of listedRuleSchema). */
export function listedRuleView(l: ListedRule): ListedRuleView {
  return { ...ruleView(l), id: l.id, packets: l.packets, bytes: l.bytes, ...(l.problem !== undefined && { problem: l.problem }) };
}
