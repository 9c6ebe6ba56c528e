/**
 * What makes two rules "the same rule": (destination, source, protocol, ports.low, ports.high), in
 * canonical text, and its 64-bit hash kept in tctp_rules.identity so that a restarted agent finds
 * the rule id of each rule again.
 */

/** Canonical identity text, e.g. "10.0.0.0/24 0.0.0.0/0 tcp 80-80". */
export function ruleIdentity(destination: string, source: string, protocol: 'tcp' | 'udp', low: number, high: number): string {
  // join makes one flat string (a template literal makes a chain of cons strings, which a rule
  // kept for long holds on to)
  return [destination, source, protocol, `${low}-${high}`].join(' ');
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A 64-bit hash of a text as two 32-bit lanes [lo, hi]: two independent multiplicative lanes,
 * cross-mixed and finalised. Not cryptographic.
 */
export function hashLanes(text: string): [lo: number, hi: number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  const lo = fmix32((a ^ Math.imul(b, 0x27d4eb2d)) >>> 0);
  const hi = fmix32((b + Math.imul(lo, 0x165667b1)) >>> 0);
  return [lo, hi];
}

/** The 64-bit hash (hashLanes) of an identity text; a collision only costs a rewrite of the rules involved. */
export function identityHash(identity: string): bigint {
  const [lo, hi] = hashLanes(identity);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** fmix32, for mixing numbers into lanes. */
export function mix32(h: number): number {
  return fmix32(h >>> 0);
}
