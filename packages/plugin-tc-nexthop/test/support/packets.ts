/** Test helpers: deterministic random numbers, packets for BPF_PROG_TEST_RUN, a reference LPM. */
import { formatIp, maskBytes, parseCidr, type IpPrefix } from '../../src/ip-address.js';

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

/** An Ethernet + IPv4/IPv6 + UDP frame from `src` (4 or 16 bytes). */
export function udpFrame(src: Uint8Array, dst?: Uint8Array): Buffer {
  const v6 = src.length === 16;
  const b = Buffer.alloc(v6 ? 14 + 40 + 8 : 14 + 20 + 8);
  b.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
  if (v6) {
    b[14] = 0x60;
    b.writeUInt16BE(8, 18);
    b[20] = 17;
    b[21] = 64;
    b.set(src, 22);
    b.set(dst ?? new Uint8Array(16).fill(1), 38);
  } else {
    b[14] = 0x45;
    b.writeUInt16BE(28, 16);
    b[22] = 64;
    b[23] = 17;
    b.set(src, 26);
    b.set(dst ?? new Uint8Array([10, 0, 0, 1]), 30);
  }
  return b;
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
    const p = parseCidr(text);
    if (p.bytes.length !== address.length) continue;
    const m = maskBytes(address, p.length);
    if (m.every((b, i) => b === p.bytes[i]) && (!best || p.length > best.length)) best = p;
  }
  return best?.text;
}

/** A random prefix of the family with a length from `lengths`, optionally under `within`. */
export function randomPrefix(rnd: () => number, family: 4 | 6, lengths: readonly number[], within?: IpPrefix): IpPrefix {
  const len = lengths[Math.floor(rnd() * lengths.length)];
  const base = within ? addressIn(within, rnd) : randomBytes(rnd, family === 4 ? 4 : 16);
  return parseCidr(`${formatIp(base)}/${len}`);
}
