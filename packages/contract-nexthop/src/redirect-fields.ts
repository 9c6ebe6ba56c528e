/**
 * The fields of a `nexthop.redirect` intent as the plugin reads them: the source prefix, the
 * next-hop address (@bpfsteer/ip's rules; surrounding blanks ignored) and the egress interface name.
 */
import { tryParseIp, tryParsePrefix, type IpAddress, type IpPrefix, type IpResult } from '@bpfsteer/ip';

const trimmed = (text: unknown): unknown => (typeof text === 'string' ? text.trim() : text);

/** A rule's source prefix (a bare address is a host prefix; host bits are refused). */
export function readRedirectSource(text: unknown): IpResult<IpPrefix> {
  return tryParsePrefix(trimmed(text), { what: 'source' });
}

/** A rule's next-hop address. */
export function readRedirectNexthop(text: unknown): IpResult<IpAddress> {
  return tryParseIp(trimmed(text), { what: 'nexthop' });
}

const IFNAME = /^[^\s/:]{1,15}$/;

/** What is wrong with `name` as a Linux interface name (1-15 characters, no whitespace, '/' or ':', not "." or ".."); undefined when nothing. */
export function interfaceNameProblem(name: unknown, what = 'interface name'): string | undefined {
  if (typeof name === 'string' && IFNAME.test(name) && name !== '.' && name !== '..') return undefined;
  return `invalid ${what} ${JSON.stringify(name)}: expected a Linux interface name of 1-15 characters without whitespace, '/' or ':'`;
}
