/**
 * IPv4/IPv6 addresses and prefixes as this plugin speaks of them: parsed by @bpfsteer/core-bpf's
 * address parser (the one implementation in the repository), with this plugin's error messages
 * and canonical text (IPv4-mapped IPv6 addresses in hex groups: `::ffff:c000:201`).
 * Addresses are kept as network-order bytes: 4 for IPv4, 16 for IPv6.
 */
import { InvalidArgumentError, clearHostBits, formatIpAddress, tryParseIpAddress, type IpFamily } from '@bpfsteer/core-bpf';

export type { IpFamily };
/** Clears every bit after the first `length` bits (returns a copy). */
export { clearHostBits as maskBytes };

export interface IpAddress {
  readonly family: IpFamily;
  /** network order, 4 or 16 bytes */
  readonly bytes: Uint8Array;
  /** canonical text: dotted quad, or RFC 5952 (lower case, longest zero run compressed) */
  readonly text: string;
}

export interface IpPrefix {
  readonly family: IpFamily;
  /** network order, host bits cleared */
  readonly bytes: Uint8Array;
  readonly length: number;
  /** canonical "address/length" */
  readonly text: string;
}

const ACCEPTED_IP = 'an IPv4 address like 192.0.2.1 or an IPv6 address like 2001:db8::1';
const ACCEPTED_CIDR = 'a CIDR like 192.0.2.0/24 or 2001:db8::/32, or a bare address (taken as /32 or /128)';

function fail(what: string, text: unknown, why: string, accepted: string): never {
  throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(text)}: ${why}; expected ${accepted}`);
}

/** Canonical text of an address given as 4 or 16 network-order bytes. */
export function formatIp(bytes: Uint8Array): string {
  return formatIpAddress(bytes, { mappedIpv4: 'hex' });
}

/** Parses an IPv4 or IPv6 address (surrounding blanks ignored); throws InvalidArgumentError saying what is wrong. */
export function parseIp(text: unknown, what = 'IP address'): IpAddress {
  if (typeof text !== 'string') fail(what, text, 'not a string', ACCEPTED_IP);
  const parsed = tryParseIpAddress(text.trim());
  if ('reason' in parsed) fail(what, text, parsed.reason, ACCEPTED_IP);
  return { family: parsed.family, bytes: parsed.bytes, text: formatIp(parsed.bytes) };
}

/**
 * Parses "address/length" (host bits are cleared: "10.1.2.3/8" -> "10.0.0.0/8") or a bare address
 * (a host prefix: /32 or /128).
 */
export function parseCidr(text: unknown, what = 'CIDR'): IpPrefix {
  if (typeof text !== 'string') fail(what, text, 'not a string', ACCEPTED_CIDR);
  const t = text.trim();
  const slash = t.indexOf('/');
  const addrText = slash < 0 ? t : t.slice(0, slash);
  const addr = tryParseIpAddress(addrText.trim());
  if ('reason' in addr) fail(what, text, `invalid address ${JSON.stringify(addrText)}: ${addr.reason}`, ACCEPTED_CIDR);
  const max = addr.family === 4 ? 32 : 128;
  let length = max;
  if (slash >= 0) {
    const lenText = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText)) fail(what, text, `prefix length "${lenText}" is not a number`, ACCEPTED_CIDR);
    length = Number(lenText);
    if (length > max) fail(what, text, `prefix length ${length} is larger than ${max} for IPv${addr.family}`, ACCEPTED_CIDR);
  }
  const bytes = clearHostBits(addr.bytes, length);
  return { family: addr.family, bytes, length, text: `${formatIp(bytes)}/${length}` };
}

/** True when `prefix` contains the address or prefix start `bytes` (same family). */
export function prefixContains(prefix: IpPrefix, bytes: Uint8Array): boolean {
  if (bytes.length !== prefix.bytes.length) return false;
  const masked = clearHostBits(bytes, prefix.length);
  return masked.every((b, i) => b === prefix.bytes[i]);
}
