/**
 * Pure parsing and canonical formatting of IPv4, IPv6 (RFC 5952) and MAC addresses: the one
 * implementation of address parsing in the repository. The codecs use the allocation-free forms
 * (parseIpv4Into, parseIpv6, formatIpv4/6 with offsets); the public API for other packages is
 * parseIpAddress / tryParseIpAddress / formatIpAddress / clearHostBits / hasHostBits.
 */
import { InvalidArgumentError } from '../errors.js';

export type IpFamily = 4 | 6;

/** An IP address as network-order bytes: 4 for IPv4, 16 for IPv6. */
export interface IpAddressBytes {
  readonly family: IpFamily;
  readonly bytes: Uint8Array;
}

/** Why a text is not an IP address: a short phrase such as `"01" has a leading zero (ambiguous octal)`. */
export interface IpAddressProblem {
  readonly reason: string;
}

export interface FormatIpOptions {
  /**
   * How an IPv4-mapped IPv6 address (::ffff:0:0/96) is written: 'dotted' (`::ffff:192.0.2.1`,
   * RFC 5952 section 5 and inet_ntop; the default) or 'hex' (`::ffff:c000:201`).
   */
  readonly mappedIpv4?: 'dotted' | 'hex';
}

const IPV4_PARTS = 'an IPv4 address has 4 dot-separated numbers';
const ACCEPTED_IP = 'an IPv4 address like 192.0.2.1 or an IPv6 address like 2001:db8::1';

/** The reason for a bad IPv4 part starting at `start`; a wrong number of parts is reported first. */
function ipv4Failure(text: string, start: number, problem: 'digits' | 'leading-zero' | 'range'): string {
  if (text.split('.').length !== 4) return IPV4_PARTS;
  const dot = text.indexOf('.', start);
  const part = text.slice(start, dot < 0 ? text.length : dot);
  if (problem === 'leading-zero') return `"${part}" has a leading zero (ambiguous octal)`;
  if (problem === 'range') return `${part} is larger than 255`;
  return `"${part}" is not a decimal number 0-255`;
}

/**
 * Writes the 4 bytes of a dotted-quad IPv4 address at `offset` and returns undefined, or returns
 * why `text` is not one (the target may then hold the octets before the bad one). Decimal octets
 * 0-255 without leading zeros. One pass over the characters and no allocation on success: this is
 * the hot path of bulk map updates.
 */
function readIpv4(text: string, target: Uint8Array, offset: number): string | undefined {
  const len = text.length;
  let octet = 0;
  let digits = 0;
  let first = 0;
  let part = 0;
  let start = 0;
  for (let i = 0; i <= len; i++) {
    const c = i < len ? text.charCodeAt(i) : 46; // a virtual '.' closes the last octet
    if (c === 46) {
      if (part > 3) return IPV4_PARTS;
      if (digits === 0) return ipv4Failure(text, start, 'digits');
      if (digits > 1 && first === 48) return ipv4Failure(text, start, 'leading-zero');
      if (octet > 255) return ipv4Failure(text, start, 'range');
      target[offset + part] = octet;
      part++;
      octet = 0;
      digits = 0;
      start = i + 1;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      if (digits === 0) first = c;
      octet = octet * 10 + (c - 48);
      digits++;
    } else {
      return ipv4Failure(text, start, 'digits');
    }
  }
  return part === 4 ? undefined : IPV4_PARTS;
}

/** The 4 bytes of a dotted-quad IPv4 address, or undefined if `text` is not one. */
export function parseIpv4(text: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  return readIpv4(text, out, 0) === undefined ? out : undefined;
}

/**
 * Writes the 4 bytes of a dotted-quad IPv4 address at `offset`; false (target untouched past what
 * was written) if `text` is not one. No allocation: the ipv4 codec's bulk path.
 */
export function parseIpv4Into(text: string, target: Uint8Array, offset: number): boolean {
  return readIpv4(text, target, offset) === undefined;
}

export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseGroups(s: string): number[] | string {
  if (s === '') return [];
  const out: number[] = [];
  for (const g of s.split(':')) {
    if (!HEX_GROUP.test(g)) return `"${g}" is not a group of 1-4 hex digits`;
    out.push(parseInt(g, 16));
  }
  return out;
}

/** The 16 bytes of an IPv6 address (optional `::`, optional dotted IPv4 tail), or why not. */
function readIpv6(text: string): Uint8Array | string {
  if (text.includes('%')) return 'zone indexes (%...) are not accepted';
  let head = text;
  let tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon + 1)) {
    // an embedded IPv4 tail ("::ffff:192.0.2.1") stands for the last two groups
    tail = new Uint8Array(4);
    const why = readIpv4(text.slice(lastColon + 1), tail, 0);
    if (why !== undefined) return `embedded IPv4 part: ${why}`;
    head = `${text.slice(0, lastColon + 1)}0:0`; // placeholder groups for the IPv4 tail
  }
  const halves = head.split('::');
  if (halves.length > 2) return '"::" may appear only once';
  const left = parseGroups(halves[0]);
  if (typeof left === 'string') return left;
  const right = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (typeof right === 'string') return right;
  const total = left.length + right.length;
  if (halves.length === 2 && total > 7) return 'too many groups around "::"';
  if (halves.length === 1 && total !== 8) return `an IPv6 address has 8 groups here, found ${total}`;
  const groups = [...left, ...new Array<number>(8 - total).fill(0), ...right];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

/** The 16 bytes of an IPv6 address (with optional `::` and dotted IPv4 tail), or undefined. */
export function parseIpv6(text: string): Uint8Array | undefined {
  const bytes = readIpv6(text);
  return typeof bytes === 'string' ? undefined : bytes;
}

/**
 * Canonical RFC 5952 text: lower case, no leading zeros, the longest run of >= 2 zero groups as `::`,
 * IPv4-mapped addresses in mixed notation (`::ffff:10.0.0.1`, as inet_ntop writes them) unless
 * `options.mappedIpv4` is 'hex'.
 */
export function formatIpv6(bytes: Uint8Array, offset = 0, options: FormatIpOptions = {}): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[offset + i * 2] << 8) | bytes[offset + i * 2 + 1]);
  if (options.mappedIpv4 !== 'hex' && groups[5] === 0xffff && groups.slice(0, 5).every((g) => g === 0)) {
    return `::ffff:${formatIpv4(bytes, offset + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** The 6 bytes of a MAC address written as six colon- or dash-separated hex pairs, or undefined. */
export function parseMac(text: string): Uint8Array | undefined {
  const m = /^([0-9a-fA-F]{2})([:-])([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})$/.exec(
    text,
  );
  if (!m) return undefined;
  return Uint8Array.from([m[1], m[3], m[4], m[5], m[6], m[7]].map((h) => parseInt(h, 16)));
}

export function formatMac(bytes: Uint8Array, offset = 0): string {
  const out: string[] = [];
  for (let i = 0; i < 6; i++) out.push(bytes[offset + i].toString(16).padStart(2, '0'));
  return out.join(':');
}

/** Whether any bit after the first `prefixLength` bits is set. */
export function hasHostBits(bytes: Uint8Array, prefixLength: number): boolean {
  for (let bit = prefixLength; bit < bytes.length * 8; bit++) {
    if (bytes[bit >> 3] & (0x80 >> (bit & 7))) return true;
  }
  return false;
}

/** A copy of `bytes` with every bit after the first `prefixLength` bits cleared. */
export function clearHostBits(bytes: Uint8Array, prefixLength: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefixLength - 8 * i));
    out[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

/**
 * Parses an IPv4 address (dotted quad, decimal octets without leading zeros) or an IPv6 address
 * (RFC 4291 text: `::` once, an optional dotted IPv4 tail, no zone index), without trimming.
 * Returns the family and network-order bytes, or `{ reason }` saying what is wrong. Never throws.
 */
export function tryParseIpAddress(text: string): IpAddressBytes | IpAddressProblem {
  if (typeof text !== 'string') return { reason: 'not a string' };
  if (text === '') return { reason: 'empty' };
  if (text.includes(':')) {
    const bytes = readIpv6(text);
    return typeof bytes === 'string' ? { reason: bytes } : { family: 6, bytes };
  }
  const bytes = new Uint8Array(4);
  const why = readIpv4(text, bytes, 0);
  return why === undefined ? { family: 4, bytes } : { reason: why };
}

/** As tryParseIpAddress, but a bad address throws InvalidArgumentError saying what is wrong and what is accepted. */
export function parseIpAddress(text: string): IpAddressBytes {
  const parsed = tryParseIpAddress(text);
  if ('reason' in parsed) {
    throw new InvalidArgumentError(`invalid IP address ${JSON.stringify(text)}: ${parsed.reason}; expected ${ACCEPTED_IP}`);
  }
  return parsed;
}

/**
 * Canonical text of an address given as 4 (IPv4) or 16 (IPv6, RFC 5952) network-order bytes;
 * any other length throws InvalidArgumentError.
 */
export function formatIpAddress(bytes: Uint8Array, options: FormatIpOptions = {}): string {
  if (bytes.length === 4) return formatIpv4(bytes);
  if (bytes.length === 16) return formatIpv6(bytes, 0, options);
  throw new InvalidArgumentError(`an IP address has 4 or 16 bytes, got ${bytes.length}`);
}
