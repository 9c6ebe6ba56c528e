/**
 * From the loose shape a client sends (already structurally checked by the API's zod schema) to a
 * normalised Rule / RuleSelector: CIDRs parsed (host bits refused), default source, families matched, port
 * order, action vs. tproxy port. Pure; every problem is reported with its path.
 */
import { anyPrefix, canonicalPrefix, type IpFamily } from '@bpfsteer/ip';
import type { Protocol, Rule, RuleAction, RuleSelector } from './rule.js';

export interface RuleInput {
  readonly destination: string;
  readonly source?: string;
  readonly protocol: Protocol;
  readonly ports: { readonly low: number; readonly high?: number };
  readonly action?: RuleAction;
  readonly tproxyPort?: number;
  readonly interfaces?: readonly string[];
  readonly service?: string;
}

export interface SelectorInput {
  readonly destination: string;
  readonly source?: string;
  readonly protocol: Protocol;
  readonly ports: { readonly low: number; readonly high?: number };
  readonly interfaces?: readonly string[];
  readonly service?: string;
  readonly listening?: { readonly tcp: readonly number[]; readonly udp: readonly number[] };
}

export interface InputIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly InputIssue[] };

/** The source of a rule that names none: any address of the destination's family. */
const anySource = { 4: anyPrefix(4).text, 6: anyPrefix(6).text } as const;

function checkAddresses(
  input: { destination: string; source?: string },
  issues: InputIssue[],
): { destination: { family: IpFamily; text: string }; source: string } | undefined {
  const dst = canonicalPrefix(input.destination);
  if (!dst.ok) issues.push({ path: ['destination'], message: dst.error.message });
  const src = input.source === undefined ? undefined : canonicalPrefix(input.source);
  if (src && !src.ok) issues.push({ path: ['source'], message: src.error.message });
  if (!dst.ok || (src && !src.ok)) return undefined;
  if (src && src.value.family !== dst.value.family) {
    issues.push({
      path: ['source'],
      message: `source ${src.value.text} is IPv${src.value.family} but destination ${dst.value.text} is IPv${dst.value.family}; both must be of the same family`,
    });
    return undefined;
  }
  return { destination: dst.value, source: src ? src.value.text : anySource[dst.value.family] };
}

function checkPorts(ports: { low: number; high?: number }, issues: InputIssue[]): boolean {
  if (ports.high !== undefined && ports.low > ports.high) {
    issues.push({ path: ['ports'], message: `low port ${ports.low} is above high port ${ports.high}; accepted: low <= high` });
    return false;
  }
  return true;
}

/** The list of no interfaces, shared by every rule that names none (rules are never modified). */
const noInterfaces: readonly string[] = Object.freeze([]);

/** Sorted, de-duplicated interface list. */
export function normaliseInterfaces(names: readonly string[] | undefined): readonly string[] {
  if (names === undefined || names.length === 0) return noInterfaces;
  if (names.length === 1) return [names[0]];
  return [...new Set(names)].sort();
}

function checkAction(input: RuleInput, issues: InputIssue[]): { action: RuleAction; tproxyPort?: number } | undefined {
  const port = input.tproxyPort ?? 0;
  const action = input.action ?? (port > 0 ? 'divert' : 'pass');
  if (action === 'divert' && port === 0) {
    issues.push({ path: ['tproxyPort'], message: 'a divert rule needs tproxyPort 1..65535 (tproxyPort 0 means a pass-through rule)' });
    return undefined;
  }
  if (action !== 'divert' && port !== 0) {
    issues.push({ path: ['tproxyPort'], message: `a ${action} rule takes no tproxyPort (got ${port}); accepted: absent or 0` });
    return undefined;
  }
  return action === 'divert' ? { action, tproxyPort: port } : { action };
}

/** Checks and normalises one rule to insert. */
export function toRule(input: RuleInput): Checked<Rule> {
  const issues: InputIssue[] = [];
  const addresses = checkAddresses(input, issues);
  const portsOk = checkPorts(input.ports, issues);
  const action = checkAction(input, issues);
  if (!addresses || !portsOk || !action || issues.length) return { ok: false, issues };
  // built without spreads (this runs for every rule of a batch), fields in the order of Rule
  const destination = addresses.destination.text;
  const source = addresses.source;
  const protocol = input.protocol;
  const ports = { low: input.ports.low, high: input.ports.high ?? input.ports.low };
  const interfaces = normaliseInterfaces(input.interfaces);
  const rule: { -readonly [K in keyof Rule]: Rule[K] } =
    action.tproxyPort === undefined
      ? { destination, source, protocol, ports, action: action.action, interfaces }
      : { destination, source, protocol, ports, action: action.action, tproxyPort: action.tproxyPort, interfaces };
  if (input.service !== undefined) rule.service = input.service;
  return { ok: true, value: rule };
}

/** Checks and normalises what a delete names. */
export function toSelector(input: SelectorInput): Checked<RuleSelector> {
  const issues: InputIssue[] = [];
  const addresses = checkAddresses(input, issues);
  const portsOk = checkPorts(input.ports, issues);
  if (!addresses || !portsOk) return { ok: false, issues };
  const interfaces = normaliseInterfaces(input.interfaces);
  return {
    ok: true,
    value: {
      destination: addresses.destination.text,
      source: addresses.source,
      protocol: input.protocol,
      ports: input.ports.high === undefined ? { low: input.ports.low } : { low: input.ports.low, high: input.ports.high },
      ...(interfaces.length > 0 && { interfaces }),
      ...(input.service !== undefined && { service: input.service }),
      ...(input.listening !== undefined && { listening: { tcp: [...input.listening.tcp], udp: [...input.listening.udp] } }),
    },
  };
}
