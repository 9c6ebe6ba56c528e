/**
 * IPv4/IPv6 address and prefix parsing, normalisation and formatting (pure, no node:net).
 * Addresses are kept as network-order bytes: 4 for IPv4, 16 for IPv6.
 */
import { InvalidArgumentError } from '@bpfsteer/core-bpf';

export type IpFamily = 4 | 6;

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

function parseV4(text: string): Uint8Array | string {
  const parts = text.split('.');
  if (parts.length !== 4) return 'an IPv4 address has 4 dot-separated numbers';
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^\d{1,3}$/.test(p)) return `"${p}" is not a decimal number 0-255`;
    if (p.length > 1 && p.startsWith('0')) return `"${p}" has a leading zero (ambiguous octal)`;
    const n = Number(p);
    if (n > 255) return `${p} is larger than 255`;
    out[i] = n;
  }
  return out;
}

function parseV6(text: string): Uint8Array | string {
  if (text.includes('%')) return 'zone indexes (%...) are not accepted';
  let head = text;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    // an embedded IPv4 tail ("::ffff:192.0.2.1") stands for the last two groups
    const tail = parseV4(text.slice(lastColon + 1));
    if (typeof tail === 'string') return `embedded IPv4 part: ${tail}`;
    const g = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    head = `${text.slice(0, lastColon + 1)}${g(tail[0], tail[1])}:${g(tail[2], tail[3])}`;
  }
  const groupsWanted = 8;
  const halves = head.split('::');
  if (halves.length > 2) return '"::" may appear only once';
  const parseGroups = (s: string): number[] | string => {
    if (s === '') return [];
    const groups: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return `"${g}" is not a group of 1-4 hex digits`;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const left = parseGroups(halves[0]);
  if (typeof left === 'string') return left;
  let groups: number[];
  if (halves.length === 2) {
    const right = parseGroups(halves[1]);
    if (typeof right === 'string') return right;
    const missing = groupsWanted - left.length - right.length;
    if (missing < 1) return 'too many groups around "::"';
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else {
    if (left.length !== groupsWanted) return `an IPv6 address has ${groupsWanted} groups here, found ${left.length}`;
    groups = left;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Canonical text of an address given as 4 or 16 network-order bytes. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new InvalidArgumentError(`an IP address has 4 or 16 bytes, got ${bytes.length}`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // RFC 5952: compress the longest run (first if tied) of two or more zero groups
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

/** Parses an IPv4 or IPv6 address; throws InvalidArgumentError saying what is wrong. */
export function parseIp(text: unknown, what = 'IP address'): IpAddress {
  if (typeof text !== 'string') fail(what, text, 'not a string', ACCEPTED_IP);
  const t = text.trim();
  if (t === '') fail(what, text, 'empty', ACCEPTED_IP);
  const bytes = t.includes(':') ? parseV6(t) : parseV4(t);
  if (typeof bytes === 'string') fail(what, text, bytes, ACCEPTED_IP);
  return { family: bytes.length === 4 ? 4 : 6, bytes, text: formatIp(bytes) };
}

/** Clears every bit after the first `length` bits (returns a copy). */
export function maskBytes(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, length - 8 * i));
    out[i] &= keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
  }
  return out;
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
  let addr: IpAddress;
  try {
    addr = parseIp(addrText, 'address');
  } catch (err) {
    fail(what, text, (err as Error).message.replace(/; expected .*$/, ''), ACCEPTED_CIDR);
  }
  const max = addr.family === 4 ? 32 : 128;
  let length = max;
  if (slash >= 0) {
    const lenText = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText)) fail(what, text, `prefix length "${lenText}" is not a number`, ACCEPTED_CIDR);
    length = Number(lenText);
    if (length > max) fail(what, text, `prefix length ${length} is larger than ${max} for IPv${addr.family}`, ACCEPTED_CIDR);
  }
  const bytes = maskBytes(addr.bytes, length);
  return { family: addr.family, bytes, length, text: `${formatIp(bytes)}/${length}` };
}

/** True when `prefix` contains the address or prefix start `bytes` (same family). */
export function prefixContains(prefix: IpPrefix, bytes: Uint8Array): boolean {
  if (bytes.length !== prefix.bytes.length) return false;
  const masked = maskBytes(bytes, prefix.length);
  return masked.every((b, i) => b === prefix.bytes[i]);
}
