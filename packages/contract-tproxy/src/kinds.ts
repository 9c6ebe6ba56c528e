/**
 * The light entry of the contract (`@bpfsteer/contract-tproxy/kinds`): the names of the kinds and of
 * the event topic, the event reasons and the interface-name check, without zod (a plugin's worker
 * thread imports this; the schemas in the main entry are loaded only where something is validated).
 */
export const TPROXY_RULE_KIND = 'tproxy.rule';
export const TPROXY_INTERFACE_KIND = 'tproxy.interface';
export const TPROXY_EVENT_TOPIC = 'tproxy.event';

/** Why a packet was dropped or diverted; in the order of their codes in bpf/tc_tproxy.h (TCTP_REASON_*). */
export const TPROXY_EVENT_REASONS = ['rule', 'no-rule', 'deny-rule', 'no-listener', 'ipv6-off', 'unparsed', 'not-ip', 'icmp', 'proto'] as const;

export type TproxyEventReason = (typeof TPROXY_EVENT_REASONS)[number];

/** What is wrong with `name` as a Linux interface name (1-15 bytes, no '/', ':' or whitespace, not "." or ".."); undefined when nothing. */
export function interfaceNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'expected a string';
  if (name.length === 0 || Buffer.byteLength(name) > 15) return 'an interface name has 1-15 bytes';
  if (/[\s/:]/.test(name)) return "an interface name has no '/', ':' or whitespace";
  if (name === '.' || name === '..') return 'an interface name is not "." or ".."';
  return undefined;
}
