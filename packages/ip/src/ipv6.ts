/**
 * IPv6 text: RFC 4291 section 2.2 (hex groups, "::" once, an optional dotted IPv4 tail) in, RFC 5952
 * out (lower case, no leading zeros, the longest run of two or more zero groups as "::", the first
 * on a tie; IPv4-mapped addresses in mixed notation as section 5 recommends and inet_ntop writes).
 * Zone indexes ("fe80::1%eth0") are refused: a zone is not part of an address's bytes. Internal.
 */
import { formatIpv4, ipv4Problem, ipv4Value, writeIpv4 } from './ipv4.js';

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function groupsOf(s: string): number[] | string {
  if (s === '') return [];
  const out: number[] = [];
  for (const g of s.split(':')) {
    if (!HEX_GROUP.test(g)) return `"${g}" is not a group of 1-4 hex digits`;
    out.push(parseInt(g, 16));
  }
  return out;
}

/** The 16 network-order bytes of an IPv6 address, or why `text` is not one. */
export function readIpv6(text: string): Uint8Array | string {
  if (text.includes('%')) return 'zone indexes (%...) are not accepted';
  const out = new Uint8Array(16);
  let head = text;
  const lastColon = text.lastIndexOf(':');
  const hasTail = text.includes('.', lastColon + 1);
  if (hasTail) {
    // an embedded IPv4 tail ("::ffff:192.0.2.1") stands for the last two groups
    const tail = text.slice(lastColon + 1);
    const value = ipv4Value(tail);
    if (value < 0) return `embedded IPv4 part: ${ipv4Problem(tail)}`;
    writeIpv4(value, out, 12);
    head = `${text.slice(0, lastColon + 1)}0:0`; // placeholder groups for the tail
  }
  const halves = head.split('::');
  if (halves.length > 2) return '"::" may appear only once';
  const left = groupsOf(halves[0]);
  if (typeof left === 'string') return left;
  const right = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (typeof right === 'string') return right;
  const total = left.length + right.length;
  if (halves.length === 2 && total > 7) return 'too many groups around "::"';
  if (halves.length === 1 && total !== 8) return `an IPv6 address has 8 groups here, found ${total}`;
  const groups = [...left, ...new Array<number>(8 - total).fill(0), ...right];
  const end = hasTail ? 6 : 8;
  for (let i = 0; i < end; i++) {
    out[i * 2] = groups[i] >> 8;
    out[i * 2 + 1] = groups[i] & 0xff;
  }
  return out;
}

/** Whether the 16 bytes at `offset` are an IPv4-mapped address (::ffff:0:0/96). */
export function isMappedIpv4(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < 10; i++) if (bytes[offset + i] !== 0) return false;
  return bytes[offset + 10] === 0xff && bytes[offset + 11] === 0xff;
}

/** RFC 5952 text of the 16 network-order bytes at `offset`. */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  if (isMappedIpv4(bytes, offset)) return `::ffff:${formatIpv4(bytes, offset + 12)}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[offset + i * 2] << 8) | bytes[offset + i * 2 + 1]);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}
