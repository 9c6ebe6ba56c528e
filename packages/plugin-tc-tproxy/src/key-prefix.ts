/**
 * Prefixes as this plugin's BPF keys hold them: parsed by @bpfsteer/ip (whose host-bit rule refuses
 * "10.0.0.5/24"), kept as 16 network-order bytes (IPv4 in bytes 0..3, the rest zero), with the
 * canonical text and a compact key that is cheap to compute for any truncation of the prefix.
 */
import { formatIpv4, formatIpv6, hasHostBits, tryParsePrefix, type IpError, type IpFamily } from '@bpfsteer/ip';

export type { IpFamily };

export interface Prefix {
  readonly family: IpFamily;
  /** 16 bytes, network order, host bits cleared; IPv4 uses bytes 0..3 */
  readonly bytes: Uint8Array;
  readonly length: number;
  /** canonical "address/length" (@bpfsteer/ip's canonical text) */
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

/** A prefix from 16 key bytes and a length (host bits must already be clear); `text` when its canonical text is known. */
export function makePrefix(family: IpFamily, bytes16: Uint8Array, length: number, text?: string): Prefix {
  text ??= `${family === 4 ? formatIpv4(bytes16) : formatIpv6(bytes16)}/${length}`;
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

export type ParsedPrefix = { readonly ok: true; readonly prefix: Prefix } | { readonly ok: false; readonly error: IpError };

const CACHE_LIMIT = 1 << 20;
const cache = new Map<unknown, ParsedPrefix>();

/**
 * A rule's prefix text as a key prefix (a bare address is a host prefix; host bits are refused).
 * Results are cached by text (a desired state is re-applied whole, mostly unchanged); the prefixes
 * are shared, never modify them.
 */
export function parseKeyPrefix(text: unknown): ParsedPrefix {
  let hit = cache.get(text);
  if (hit === undefined) {
    const parsed = tryParsePrefix(text);
    if (!parsed.ok) hit = parsed;
    else {
      const { family, bytes, length, text: canonical } = parsed.value;
      const bytes16 = new Uint8Array(16);
      bytes16.set(bytes, 0);
      hit = { ok: true, prefix: makePrefix(family, bytes16, length, canonical) };
    }
    if (typeof text === 'string') {
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(text, hit);
    }
  }
  return hit;
}

/** "ip:port" or "[v6]:port" of 16 key bytes. */
export function formatEndpoint(family: IpFamily, bytes16: Uint8Array, port: number): string {
  return family === 4 ? `${formatIpv4(bytes16)}:${port}` : `[${formatIpv6(bytes16)}]:${port}`;
}
