/**
 * IP prefixes (CIDR blocks): "address/length", or a bare address meaning the host prefix (/32,
 * /128). The prefix length is 0..32 or 0..128 in decimal without leading zeros ("/024" would be
 * octal to iproute2's parser).
 *
 * The host-bit rule: a prefix names a network, so a text whose address has bits set after the
 * length ("10.0.0.1/24") is REFUSED (code ERR_IP_HOST_BITS: `"10.0.0.1/24" has host bits set; did
 * you mean 10.0.0.0/24?`). Only an explicit `{ mask: true }` or networkOf() clears them, and only
 * protocol edges whose peer really sends an address plus a length meaning its network use them.
 */
import { IpError, type IpResult } from './ip-error.js';
import { formatIp, label, maxPrefixLength, MAX_TEXT, quote, readAddress, type IpFamily, type ParseIpOptions } from './ip-address.js';
import { bitsEqual, hasHostBits, maskBytes } from './mask-bytes.js';
import { ipv4Value, writeIpv4 } from './ipv4.js';

export interface IpPrefix {
  readonly family: IpFamily;
  /** network order (4 or 16 bytes), host bits clear */
  readonly bytes: Uint8Array;
  /** prefix length: 0..32 (IPv4), 0..128 (IPv6) */
  readonly length: number;
  /** canonical "address/length" */
  readonly text: string;
}

/** What the relations below need of a prefix (so richer prefix types can be passed). */
export type PrefixLike = Pick<IpPrefix, 'family' | 'bytes' | 'length'>;

export interface ParsePrefixOptions extends ParseIpOptions {
  /**
   * Clear host bits instead of refusing them ("10.0.0.1/24" -> 10.0.0.0/24). Only for peers whose
   * protocol sends an address and a length meaning the network (see the package README).
   */
  readonly mask?: boolean;
}

const ACCEPTED_PREFIX = 'a CIDR like 192.0.2.0/24 or 2001:db8::/32, or a bare address (taken as /32 or /128)';

/** The decimal prefix length of text[from..] if it is one of 0..max without leading zeros; else -1. */
export function prefixLengthValue(text: string, from: number, max: number): number {
  const digits = text.length - from;
  if (digits < 1 || digits > 3 || (digits > 1 && text.charCodeAt(from) === 0x30)) return -1;
  let value = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    value = value * 10 + (c - 0x30);
  }
  return value <= max ? value : -1;
}

function lengthProblem(lengthText: string, family: IpFamily): string {
  const max = maxPrefixLength(family);
  if (!/^\d{1,3}$/.test(lengthText)) return `prefix length "${lengthText}" is not a number 0..${max}`;
  if (lengthText.length > 1 && lengthText[0] === '0') return `prefix length "${lengthText}" has a leading zero`;
  return `prefix length ${lengthText} is larger than ${max} for IPv${family}`;
}

function invalid(text: unknown, problem: string, options: ParsePrefixOptions): IpResult<never> {
  const message = `${label(options.what)}${quote(text)} is not a CIDR: ${problem}; expected ${ACCEPTED_PREFIX}`;
  return { ok: false, error: new IpError('ERR_IP_INVALID_PREFIX', message) };
}

/** The error for a prefix text with host bits set, naming the network it may have meant. */
export function hostBitsError(text: string, network: string, what?: string): IpError {
  return new IpError('ERR_IP_HOST_BITS', `${label(what)}${quote(text)} has host bits set; did you mean ${network}?`);
}

/** Parses "address/length" or a bare address (the host prefix). Never throws; see the host-bit rule above. */
export function tryParsePrefix(text: unknown, options: ParsePrefixOptions = {}): IpResult<IpPrefix> {
  if (typeof text !== 'string') return invalid(text, 'not a string', options);
  if (text.length > MAX_TEXT) return invalid(text, `longer than ${MAX_TEXT} characters`, options);
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = readAddress(addressText);
  if (typeof address === 'string') return invalid(text, slash < 0 ? address : `address ${quote(addressText)}: ${address}`, options);
  const { family, bytes } = address;
  let length = maxPrefixLength(family);
  if (slash >= 0) {
    length = prefixLengthValue(text, slash + 1, length);
    if (length < 0) return invalid(text, lengthProblem(text.slice(slash + 1), family), options);
  }
  if (hasHostBits(bytes, length)) {
    const network = maskBytes(bytes, length);
    const networkText = `${formatIp(network)}/${length}`;
    if (!options.mask) return { ok: false, error: hostBitsError(text, networkText, options.what) };
    return { ok: true, value: { family, bytes: network, length, text: networkText } };
  }
  // an accepted IPv4 "address/length" is already canonical (decimal, no leading zeros)
  const canonical = family === 4 && slash >= 0 ? text : `${formatIp(bytes)}/${length}`;
  return { ok: true, value: { family, bytes, length, text: canonical } };
}

/**
 * The allocation-free path of the common case: an IPv4 "a.b.c.d/len" accepted by tryParsePrefix
 * (which then keeps the text as its canonical form). Writes the 4 network-order bytes at `offset`
 * and returns the length; returns -1 (target untouched) for any other text - another form, another
 * family, host bits, an error - which tryParsePrefix then parses or explains.
 */
export function parseIpv4PrefixInto(text: string, target: Uint8Array, offset: number): number {
  const slash = text.indexOf('/');
  if (slash < 0 || text.length > MAX_TEXT) return -1;
  const length = prefixLengthValue(text, slash + 1, 32);
  if (length < 0) return -1;
  const value = ipv4Value(text, 0, slash);
  if (value < 0 || (length < 32 && (value & (0xffffffff >>> length)) !== 0)) return -1;
  writeIpv4(value, target, offset);
  return length;
}

/** As tryParsePrefix, but a bad text throws IpError (ERR_IP_INVALID_PREFIX or ERR_IP_HOST_BITS). */
export function parsePrefix(text: unknown, options: ParsePrefixOptions = {}): IpPrefix {
  const parsed = tryParsePrefix(text, options);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

/**
 * The network of `address` at `length` (host bits cleared): the explicit way to accept an address
 * and a length that mean a network. A length that is not an integer 0..max throws IpError.
 */
export function networkOf(address: { readonly family: IpFamily; readonly bytes: Uint8Array }, length: number): IpPrefix {
  const max = maxPrefixLength(address.family);
  if (!Number.isInteger(length) || length < 0 || length > max) {
    throw new IpError('ERR_IP_INVALID_ARGUMENT', `prefix length ${length} is not an integer 0..${max} for IPv${address.family}`);
  }
  const bytes = maskBytes(address.bytes, length);
  return { family: address.family, bytes, length, text: `${formatIp(bytes)}/${length}` };
}

/** The prefix of every address of a family: 0.0.0.0/0 or ::/0. */
export function anyPrefix(family: IpFamily): IpPrefix {
  return family === 4
    ? { family, bytes: new Uint8Array(4), length: 0, text: '0.0.0.0/0' }
    : { family, bytes: new Uint8Array(16), length: 0, text: '::/0' };
}

/** Whether `outer` contains `inner` (a prefix, or an address: a host prefix); false across families. */
export function prefixContains(outer: PrefixLike, inner: PrefixLike | { readonly family: IpFamily; readonly bytes: Uint8Array }): boolean {
  if (outer.family !== inner.family) return false;
  const innerLength = 'length' in inner ? inner.length : maxPrefixLength(inner.family);
  return outer.length <= innerLength && bitsEqual(outer.bytes, inner.bytes, outer.length);
}

/** Whether two prefixes share an address (one contains the other); false across families. */
export function prefixesOverlap(a: PrefixLike, b: PrefixLike): boolean {
  return a.family === b.family && bitsEqual(a.bytes, b.bytes, Math.min(a.length, b.length));
}

/** Orders prefixes: IPv4 first, then by address bytes, then shorter first. */
export function comparePrefixes(a: PrefixLike, b: PrefixLike): number {
  if (a.family !== b.family) return a.family - b.family;
  const n = Math.min(a.bytes.length, b.bytes.length);
  for (let i = 0; i < n; i++) if (a.bytes[i] !== b.bytes[i]) return a.bytes[i] - b.bytes[i];
  return a.length - b.length;
}
