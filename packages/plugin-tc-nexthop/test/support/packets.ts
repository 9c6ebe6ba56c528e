/**
 * Test helpers: deterministic random numbers, random addresses and prefixes, a reference LPM.
 * Frames for BPF_PROG_TEST_RUN come from @bpfsteer/netlab (ipFrame).
 */
import { ipFromBytes, networkOf, parsePrefix, prefixContains, type IpPrefix } from '@bpfsteer/ip';

/** xorshift32: reproducible pseudo-random numbers in [0, 1). */
export function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

export function randomBytes(rnd: () => number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
}

/** A random address inside `prefix`. */
export function addressIn(prefix: IpPrefix, rnd: () => number): Uint8Array {
  const a = new Uint8Array(prefix.bytes);
  const x = randomBytes(rnd, a.length);
  for (let bit = prefix.length; bit < a.length * 8; bit++) {
    if (x[bit >> 3] & (0x80 >> (bit & 7))) a[bit >> 3] |= 0x80 >> (bit & 7);
  }
  return a;
}

/** Longest-prefix match by brute force: the reference the program is checked against. */
export function referenceLpm(prefixes: readonly string[], address: Uint8Array): string | undefined {
  let best: IpPrefix | undefined;
  for (const text of prefixes) {
    const p = parsePrefix(text);
    if (prefixContains(p, ipFromBytes(address)) && (!best || p.length > best.length)) best = p;
  }
  return best?.text;
}

/** A random prefix of the family with a length from `lengths`, optionally under `within`. */
export function randomPrefix(rnd: () => number, family: 4 | 6, lengths: readonly number[], within?: IpPrefix): IpPrefix {
  const len = lengths[Math.floor(rnd() * lengths.length)];
  const base = within ? addressIn(within, rnd) : randomBytes(rnd, family === 4 ? 4 : 16);
  return networkOf(ipFromBytes(base), len);
}
