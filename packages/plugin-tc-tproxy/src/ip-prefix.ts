/**
 * IP prefixes as this plugin handles them: parsed by @bpfsteer/core-bpf's address parser, kept as
 * 16 network-order bytes (IPv4 in bytes 0..3, the rest zero, as the BPF keys hold them), with a
 * canonical text and a compact key that is cheap to compute for any truncation of the prefix.
 */
import { clearHostBits, formatIpAddress, hasHostBits, tryParseIpAddress, type IpFamily } from '@bpfsteer/core-bpf';

export type { IpFamily };

export interface Prefix {
  readonly family: IpFamily;
  /** 16 bytes, network order, host bits cleared; IPv4 uses bytes 0..3 */
  readonly bytes: Uint8Array;
  readonly length: number;
  /** canonical "address/length" (RFC 5952 for IPv6) */
  readonly text: string;
  /** compact key, equal for equal prefixes of one family: see prefixKey */
  readonly key: string;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Compact key of the first `length` bits of `bytes` (bits after them are ignored, as if cleared):
 * "<length>:<hex of the significant bytes>". Allocation-light: the hot path of the rule compiler.
 */
export function prefixKey(bytes: Uint8Array, length: number): string {
  const full = length >> 3;
  const rest = length & 7;
  let s = `${length}:`;
  for (let i = 0; i < full; i++) s += HEX[bytes[i]];
  if (rest > 0) s += HEX[bytes[full] & ((0xff << (8 - rest)) & 0xff)];
  return s;
}

/** Whether prefix `outer` contains `inner` (same family assumed; both have host bits cleared). */
export function containsPrefix(outer: Prefix, inner: Prefix): boolean {
  if (outer.length > inner.length) return false;
  return bitsEqual(outer.bytes, inner.bytes, outer.length);
}

/** Whether the first `length` bits of `a` and `b` are equal. */
export function bitsEqual(a: Uint8Array, b: Uint8Array, length: number): boolean {
  const full = length >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[full] & mask) === (b[full] & mask);
}

export function maxLength(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** A prefix from 16 key bytes and a length (host bits must already be clear); `text` when its canonical text is known. */
export function makePrefix(family: IpFamily, bytes16: Uint8Array, length: number, text?: string): Prefix {
  if (text === undefined) {
    const ip = family === 4 ? `${bytes16[0]}.${bytes16[1]}.${bytes16[2]}.${bytes16[3]}` : formatIpAddress(bytes16, { mappedIpv4: 'hex' });
    text = `${ip}/${length}`;
  }
  return { family, bytes: bytes16, length, text, key: prefixKey(bytes16, length) };
}

/** Whether the bits of `bytes16` after `length` (and IPv4's bytes 4..15) are all zero. */
export function hostBitsClear(family: IpFamily, bytes16: Uint8Array, length: number): boolean {
  if (family === 4) {
    for (let i = 4; i < 16; i++) if (bytes16[i] !== 0) return false;
    return !hasHostBits(bytes16.subarray(0, 4), length);
  }
  return !hasHostBits(bytes16, length);
}

export type ParsedPrefix = { readonly ok: true; readonly prefix: Prefix } | { readonly ok: false; readonly reason: string };

const CACHE_LIMIT = 1 << 20;
const cache = new Map<string, ParsedPrefix>();

/**
 * Parses "address/length" (or a bare address, taken as /32 or /128). Host bits must be clear: a
 * rule names a network, and "10.0.0.5/24" is refused rather than guessed at. Results are cached by
 * text (a desired state is re-applied whole, mostly unchanged); the prefixes are shared, never
 * modify them.
 */
export function parsePrefix(text: unknown): ParsedPrefix {
  if (typeof text !== 'string') return { ok: false, reason: 'expected a string' };
  let hit = cache.get(text);
  if (hit === undefined) {
    hit = parseUncached(text);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(text, hit);
  }
  return hit;
}

function parseUncached(text: string): ParsedPrefix {
  if (text.length > 64) return { ok: false, reason: 'longer than 64 characters' };
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const parsed = tryParseIpAddress(addrText);
  if ('reason' in parsed) return { ok: false, reason: parsed.reason };
  const family = parsed.family;
  const max = maxLength(family);
  let length = max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(lenText)) return { ok: false, reason: `prefix length "${lenText}" is not a number 0..${max}` };
    length = Number(lenText);
    if (length > max) return { ok: false, reason: `prefix length ${length} is out of range 0..${max} for IPv${family}` };
  }
  if (hasHostBits(parsed.bytes, length)) {
    const masked = clearHostBits(parsed.bytes, length);
    return {
      ok: false,
      reason: `host bits are set (the network is ${formatIpAddress(masked, { mappedIpv4: 'hex' })}/${length})`,
    };
  }
  const bytes16 = new Uint8Array(16);
  bytes16.set(parsed.bytes, 0);
  // an accepted IPv4 "address/length" is already canonical (decimal octets and length, no leading zeros)
  return { ok: true, prefix: makePrefix(family, bytes16, length, family === 4 && slash >= 0 ? text : undefined) };
}

/** "ip:port" or "[v6]:port" of 16 key bytes. */
export function formatEndpoint(family: IpFamily, bytes16: Uint8Array, port: number): string {
  const ip = formatIpAddress(family === 4 ? bytes16.subarray(0, 4) : bytes16, { mappedIpv4: 'hex' });
  return family === 4 ? `${ip}:${port}` : `[${ip}]:${port}`;
}
