/**
 * The rule model of the ziti source. A rule's identity is (destination, source, protocol,
 * ports.low, ports.high); everything else (action, tproxy port, service, interfaces) is its value.
 * All CIDRs held here are canonical (@bpfsteer/ip: host bits clear, canonical text).
 */

export const protocols = ['tcp', 'udp'] as const;
export type Protocol = (typeof protocols)[number];

export const actions = ['divert', 'pass', 'deny'] as const;
export type RuleAction = (typeof actions)[number];

export interface PortRange {
  readonly low: number;
  readonly high: number;
}

export interface RuleIdentity {
  /** normalised CIDR */
  readonly destination: string;
  /** normalised CIDR of the destination's family; "0.0.0.0/0" / "::/0" = any */
  readonly source: string;
  readonly protocol: Protocol;
  readonly ports: PortRange;
}

export interface Rule extends RuleIdentity {
  readonly action: RuleAction;
  /** 1..65535 iff action is 'divert' */
  readonly tproxyPort?: number;
  /** sorted, unique interface names; empty = every attached interface */
  readonly interfaces: readonly string[];
  /** ziti service id */
  readonly service?: string;
  /**
   * Set when two or more services ask for this identity (rule-owners.ts): each one's wish, the
   * latest last. The fields above are then the rule in force: the latest one's action, tproxy
   * port and service, and every owner's interfaces (none: every interface, when one names none).
   */
  readonly owners?: readonly RuleOwner[];
}

/** One service's wish for a rule that several services share (Rule.owners). */
export interface RuleOwner {
  readonly service: string;
  readonly action: RuleAction;
  readonly tproxyPort?: number;
  readonly interfaces: readonly string[];
}

/** Sockets listening on this host, by protocol: the ports a delete's owners are looked up in (rule-owners.ts). */
export interface ListeningPorts {
  readonly tcp: readonly number[];
  readonly udp: readonly number[];
}

/** What a delete names: one rule, or (ports.high absent) every rule with that low port. */
export interface RuleSelector {
  readonly destination: string;
  readonly source: string;
  readonly protocol: Protocol;
  readonly ports: { readonly low: number; readonly high?: number };
  /** absent or empty: remove the whole rule(s); else remove these interfaces from them */
  readonly interfaces?: readonly string[];
  /** of a rule several services share: remove only this service's wish */
  readonly service?: string;
  /**
   * of a rule several services share, when no service is named: the tproxy ports listening where
   * the caller runs (the native diverter client sends them with each delete); the wishes whose
   * listener is gone are removed, or every wish when all listen (rule-owners.ts)
   */
  readonly listening?: ListeningPorts;
}

/** Per-interface settings overriding the plugin config (absent fields keep the plugin's value). */
export interface InterfaceSettings {
  readonly ssh?: boolean;
  readonly echo?: boolean;
  readonly ipv6?: boolean;
  readonly events?: { readonly drops?: boolean; readonly diverts?: boolean };
}

/** The stable text key of a rule identity. */
export function ruleKey(rule: RuleIdentity): string {
  return `${rule.protocol} ${rule.destination} ${rule.source} ${rule.ports.low}-${rule.ports.high}`;
}

/** Human text of a rule identity for messages, e.g. "tcp 10.0.0.0/24 from 0.0.0.0/0 ports 80-80". */
export function describeIdentity(rule: RuleIdentity | RuleSelector): string {
  const high = rule.ports.high ?? '*';
  return `${rule.protocol} ${rule.destination} from ${rule.source} ports ${rule.ports.low}-${high}`;
}

/**
 * Linux interface names: 1..15 bytes, not "." or "..", no "/", ":" or whitespace (the kernel's
 * dev_valid_name, minus ":" which only names legacy aliases).
 */
export function isInterfaceName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length >= 1 &&
    Buffer.byteLength(name) <= 15 &&
    name !== '.' &&
    name !== '..' &&
    /^[^\s/:\p{Cc}]+$/u.test(name)
  );
}

export const interfaceNameRule = 'an interface name: 1..15 bytes, not "." or "..", without "/", ":" or white space';

/** Service ids: 1..256 printable characters. */
export function isServiceId(id: unknown): id is string {
  return typeof id === 'string' && id.length >= 1 && id.length <= 256 && /^[^\p{Cc}]+$/u.test(id);
}

export const serviceIdRule = 'a service id: 1..256 characters, no control characters';
