/**
 * Rules as the compiler sees them: a validated `tproxy.rule` intent with parsed prefixes, its
 * canonical identity, and the desired state's rule list checked as a whole (duplicates merged,
 * conflicting duplicates refused).
 */
import { IntentRejectedError, type Intent } from '@bpfsteer/agent-kernel';
import { interfaceNameProblem } from './interface-name.js';
import { parsePrefix, type IpFamily, type Prefix } from './ip-prefix.js';
import { ruleIdentity } from './rule-identity.js';
import { ACTION_DENY, ACTION_DIVERT, ACTION_PASS, PROTO_TCP, PROTO_UDP } from './tproxy-constants.js';
import { TPROXY_RULE_KIND, tproxyRuleIntentSchema } from './tproxy-intents.js';

export type RuleAction = 'divert' | 'pass' | 'deny';

export interface TproxyRule {
  /** canonical "dst src proto low-high" */
  readonly identity: string;
  readonly family: IpFamily;
  readonly protocol: 'tcp' | 'udp';
  readonly destination: Prefix;
  readonly source: Prefix;
  readonly low: number;
  readonly high: number;
  readonly action: RuleAction;
  /** 0 unless action is divert */
  readonly tproxyPort: number;
  /** sorted interface names; undefined = every attached interface */
  readonly interfaces: readonly string[] | undefined;
  /** the intent as applied (with kind) */
  readonly intent: Intent;
}

export const ACTION_CODE: Record<RuleAction, number> = { divert: ACTION_DIVERT, pass: ACTION_PASS, deny: ACTION_DENY };
export const PROTO_NUMBER = { tcp: PROTO_TCP, udp: PROTO_UDP } as const;

function describeIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message)).join('; ');
}

const RULE_FIELDS = new Set(['kind', 'destination', 'source', 'protocol', 'ports', 'action', 'tproxyPort', 'interfaces', 'service']);

function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;
}

/**
 * The rule of a valid intent, checked field by field exactly as tproxyRuleIntentSchema does but
 * without its cost (a desired state of 100,000 rules is checked at every apply); undefined when
 * anything is wrong, and the schema then says what.
 */
function fastRule(intent: Intent): TproxyRule | undefined {
  for (const key in intent) if (!RULE_FIELDS.has(key)) return undefined;
  const { destination, source, protocol, ports, action, tproxyPort, interfaces, service } = intent as Record<string, unknown>;
  if (protocol !== 'tcp' && protocol !== 'udp') return undefined;
  if (action !== 'divert' && action !== 'pass' && action !== 'deny') return undefined;
  if (ports === null || typeof ports !== 'object' || Array.isArray(ports)) return undefined;
  for (const key in ports) if (key !== 'low' && key !== 'high') return undefined;
  const { low, high } = ports as Record<string, unknown>;
  if (!isPort(low) || !isPort(high) || low > high) return undefined;
  if (action === 'divert' ? !isPort(tproxyPort) || tproxyPort === 0 : tproxyPort !== undefined) return undefined;
  if (service !== undefined && (typeof service !== 'string' || service.length > 256)) return undefined;
  let names: string[] | undefined;
  if (interfaces !== undefined) {
    if (!Array.isArray(interfaces) || interfaces.length > 64) return undefined;
    for (const n of interfaces) if (interfaceNameProblem(n) !== undefined) return undefined;
    if (new Set(interfaces).size !== interfaces.length) return undefined;
    if (interfaces.length > 0) names = [...(interfaces as string[])].sort();
  }
  const d = parsePrefix(destination);
  const s = parsePrefix(source);
  if (!d.ok || !s.ok || d.prefix.family !== s.prefix.family) return undefined;
  return {
    identity: ruleIdentity(d.prefix.text, s.prefix.text, protocol, low, high),
    family: d.prefix.family,
    protocol,
    destination: d.prefix,
    source: s.prefix,
    low,
    high,
    action,
    tproxyPort: action === 'divert' ? (tproxyPort as number) : 0,
    interfaces: names,
    intent: intent.kind === TPROXY_RULE_KIND ? intent : { ...intent, kind: TPROXY_RULE_KIND },
  };
}

/** A validated rule from one intent; IntentRejectedError saying what is wrong otherwise. */
export function normalizeRule(intent: Intent, where: string | (() => string) = 'tproxy.rule'): TproxyRule {
  if (intent !== null && typeof intent === 'object' && !Array.isArray(intent)) {
    const rule = fastRule(intent);
    if (rule !== undefined) return rule;
  }
  const { kind: _kind, ...fields } = (intent ?? {}) as Intent;
  const parsed = tproxyRuleIntentSchema.safeParse(fields);
  const at = typeof where === 'function' ? where() : where;
  if (!parsed.success) throw new IntentRejectedError(`${at}: ${describeIssues(parsed.error)}`);
  // the schema accepted what the field check refused: they must not disagree
  throw new IntentRejectedError(`${at}: not a valid tproxy.rule (the plugin's check and its schema disagree; please report)`);
}

/** Whether two rules of one identity would be compiled alike (action, port, interfaces). */
export function sameRuleContent(a: TproxyRule, b: TproxyRule): boolean {
  if (a.action !== b.action || a.tproxyPort !== b.tproxyPort) return false;
  if (a.interfaces === undefined || b.interfaces === undefined) return a.interfaces === b.interfaces;
  return a.interfaces.length === b.interfaces.length && a.interfaces.every((n, i) => n === b.interfaces![i]);
}

function describeRule(r: TproxyRule): string {
  const to = r.action === 'divert' ? ` to port ${r.tproxyPort}` : '';
  const on = r.interfaces ? ` on ${r.interfaces.join(',')}` : '';
  return `${r.action}${to}${on}`;
}

/**
 * The desired state's rules, one per identity, in first-seen order. The same rule listed twice is
 * taken once; two different rules with one identity are refused (IntentRejectedError).
 */
export function normalizeRules(intents: readonly Intent[]): TproxyRule[] {
  const byIdentity = new Map<string, TproxyRule>();
  intents.forEach((intent, index) => {
    const rule = normalizeRule(intent, () => `tproxy.rule #${index}`);
    const seen = byIdentity.get(rule.identity);
    if (seen === undefined) byIdentity.set(rule.identity, rule);
    else if (!sameRuleContent(seen, rule)) {
      throw new IntentRejectedError(
        `tproxy.rule #${index}: rule ${rule.identity} is listed twice with different settings ` +
          `(${describeRule(seen)} and ${describeRule(rule)}); a rule is identified by destination, source, protocol and port range`,
      );
    }
  });
  return [...byIdentity.values()];
}
