/**
 * IP addresses as Istio sends them (4 or 16 raw bytes, network order) <-> text.
 * IPv6 text is the canonical compressed form (lower-case hex, longest run of two or more zero
 * groups as "::"), the same form `new URL('http://[...]').hostname` produces.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Text form of a 4- or 16-byte address; undefined for any other length. */
export function formatIpBytes(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) return undefined;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // the longest run of zero groups (length >= 2; the first one on a tie)
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** Raw bytes of an IPv4 or IPv6 address in text form; throws a RangeError for anything else. */
export function parseIpAddress(text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  if (!isIPv6(text) || text.includes('%')) {
    throw new RangeError(`"${text}" is not an IP address (accepted: IPv4 dotted quad or IPv6 text)`);
  }
  let body = text;
  const lastColon = body.lastIndexOf(':');
  const last = body.slice(lastColon + 1);
  if (last.includes('.')) {
    // embedded IPv4 in the last 32 bits (::ffff:10.0.0.1): rewrite it as two hex groups
    const [a, b, c, d] = last.split('.').map(Number);
    body = `${body.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const toGroups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [head, rest] = body.split('::');
  const left = toGroups(head);
  const right = rest === undefined ? [] : toGroups(rest);
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}
