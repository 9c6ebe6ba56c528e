/**
 * What makes two rules "the same rule": (destination, source, protocol, ports.low, ports.high), in
 * canonical text, and its 64-bit hash kept in tctp_rules.identity so that a restarted agent finds
 * the rule id of each rule again.
 */
import { endianness } from 'node:os';

/** The parts of an identity text, filled in and joined by ruleIdentity (one list for every call: no list per rule). */
const IDENTITY_PARTS: Array<string | number> = ['', ' ', '', ' ', '', ' ', 0, '-', 0];

/** Canonical identity text, e.g. "10.0.0.0/24 0.0.0.0/0 tcp 80-80". */
export function ruleIdentity(destination: string, source: string, protocol: 'tcp' | 'udp', low: number, high: number): string {
  // join makes one flat string (a template literal makes a chain of cons strings, which a rule
  // kept for long holds on to)
  const parts = IDENTITY_PARTS;
  parts[0] = destination;
  parts[2] = source;
  parts[4] = protocol;
  parts[6] = low;
  parts[8] = high;
  const text = parts.join('');
  parts[0] = parts[2] = ''; // (not holding on to the caller's strings)
  return text;
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
 * The lanes of the last hashInto, in the order of a host-order u64 (lo first on a little-endian
 * host): read as two numbers, or as one bigint without composing it from BigInt operations.
 */
const LANES = new Uint32Array(2);
const LANES_U64 = new BigUint64Array(LANES.buffer);
const LO = endianness() === 'LE' ? 0 : 1;
const HI = 1 - LO;

/**
 * A 64-bit hash of a text as two 32-bit lanes, into LANES: two independent multiplicative lanes,
 * cross-mixed and finalised. Not cryptographic.
 */
function hashInto(text: string): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  const lo = fmix32((a ^ Math.imul(b, 0x27d4eb2d)) >>> 0);
  LANES[LO] = lo;
  LANES[HI] = fmix32((b + Math.imul(lo, 0x165667b1)) >>> 0);
}

/** The 64-bit hash of a text as two 32-bit lanes [lo, hi] (see hashInto), in `out` when given (no new pair per call). */
export function hashLanes(text: string, out: [lo: number, hi: number] = [0, 0]): [lo: number, hi: number] {
  hashInto(text);
  out[0] = LANES[LO];
  out[1] = LANES[HI];
  return out;
}

/** The 64-bit hash (hashLanes: hi << 32 | lo) of an identity text; a collision only costs a rewrite of the rules involved. */
export function identityHash(identity: string): bigint {
  hashInto(identity);
  return LANES_U64[0];
}

/** fmix32, for mixing numbers into lanes. */
export function mix32(h: number): number {
  return fmix32(h >>> 0);
}
