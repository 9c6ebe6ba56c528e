/**
 * Test support for the differential kernel test: random packets biased to the edges of a rule set —
 * most aimed at one rule (the first or last address of its prefixes or one just outside, addresses
 * that also fall into the nested prefixes of the pools, its port range's ends and the ports next to
 * them, now and then the other protocol or an interface the rule is not on), the rest anywhere near
 * the pools — and the Ethernet frames that carry them.
 */
import { ipv4Frame, ipv6Frame } from '@bpfsteer/netlab';
import type { Prefix } from '../../src/key-prefix.js';
import type { AttachedInterface, DifferentialRule, Family, RuleSet } from './random-rule-set.js';
import { flipBit, maxBits } from './random-rule-set.js';
import type { Packet } from './rule-model.js';
import type { SeededRandom } from './seeded-random.js';

export interface EdgePacket extends Packet {
  readonly sport: number;
}

export interface PacketTargets {
  readonly attached: readonly AttachedInterface[];
  /** interfaces in the same netns the dataplane is not attached to */
  readonly foreign: readonly AttachedInterface[];
}

/** `prefix`'s bits, then those of `noise` (fill 0 / 1: the prefix's first / last address). */
function within(prefix: Prefix, noise: Uint8Array | 0 | 1): Uint8Array {
  const out = new Uint8Array(16);
  const n = prefix.family === 4 ? 4 : 16;
  for (let i = 0; i < n; i++) {
    const keep = Math.max(0, Math.min(8, prefix.length - 8 * i));
    const m = (0xff << (8 - keep)) & 0xff;
    const rest = noise === 0 ? 0 : noise === 1 ? 0xff : noise[i];
    out[i] = (prefix.bytes[i] & m) | (rest & ~m & 0xff);
  }
  return out;
}

/** An address in or at the edge of `prefix`, or just outside it (the neighbouring address). */
function edgeAddress(rng: SeededRandom, prefix: Prefix, pool: readonly Prefix[]): Uint8Array {
  const bits = maxBits(prefix.family);
  const noise = () => {
    // mostly the bits of a pool prefix (so that the longer prefixes inside this one are hit too)
    const near = rng.pick(pool);
    return rng.chance(0.8) ? within(near, rng.chance(0.5) ? rng.bytes(16) : rng.chance(0.5) ? 0 : 1) : rng.bytes(16);
  };
  return rng.weighted<Uint8Array>([
    [22, () => within(prefix, 0)],
    [22, () => within(prefix, 1)],
    [36, () => within(prefix, noise())],
    [20, () => {
      if (prefix.length === 0) return within(prefix, noise());
      // just outside: the last address before the prefix or the first after it
      const edge = within(prefix, rng.chance(0.5) ? 0 : 1);
      return neighbour(edge, bits, edge[(bits - 1) >> 3] & 1 ? 1 : -1);
    }],
  ]);
}

/** The address one up (+1) or down (-1) from `a` (wrapping), over its family's `bits`. */
function neighbour(a: Uint8Array, bits: number, step: 1 | -1): Uint8Array {
  let out: Uint8Array = new Uint8Array(a);
  for (let i = bits - 1; i >= 0; i--) {
    const set = (out[i >> 3] >> (7 - (i & 7))) & 1;
    out = flipBit(out, i);
    // +1 stops at the first 0 bit it sets, -1 at the first 1 bit it clears
    if ((step === 1 && set === 0) || (step === -1 && set === 1)) break;
  }
  return out;
}

function edgePort(rng: SeededRandom, low: number, high: number): number {
  const clamp = (p: number) => Math.max(0, Math.min(65535, p));
  return rng.weighted<number>([
    [25, () => low],
    [25, () => high],
    [12, () => clamp(low - 1)],
    [12, () => clamp(high + 1)],
    [16, () => rng.int(low, high)],
    [10, () => rng.int(0, 65535)],
  ]);
}

function aimedAt(rng: SeededRandom, rule: DifferentialRule, set: RuleSet, targets: PacketTargets): EdgePacket {
  const everywhere = [...targets.attached, ...targets.foreign];
  const mine = rule.ifindexes ? targets.attached.filter((i) => rule.ifindexes!.includes(i.ifindex)) : targets.attached;
  const pool = set.pools[rule.family];
  return {
    ifindex: (rng.chance(0.88) ? rng.pick(mine) : rng.pick(everywhere)).ifindex,
    family: rule.family,
    proto: rng.chance(0.9) ? rule.proto : rule.proto === 6 ? 17 : 6,
    dst: edgeAddress(rng, rule.destination, pool),
    src: edgeAddress(rng, rule.source, pool),
    port: edgePort(rng, rule.low, rule.high),
    sport: rng.int(1024, 65535),
  };
}

function anywhere(rng: SeededRandom, set: RuleSet, targets: PacketTargets): EdgePacket {
  const family: Family = rng.chance(0.55) ? 4 : 6;
  const pool = set.pools[family];
  const somewhere = () => edgeAddress(rng, rng.pick(pool), pool);
  const edges = set.rules.length > 0 ? rng.pick(set.rules) : { low: 0, high: 65535 };
  return {
    ifindex: rng.pick([...targets.attached, ...targets.foreign]).ifindex,
    family,
    proto: rng.chance(0.5) ? 6 : 17,
    dst: somewhere(),
    src: somewhere(),
    port: edgePort(rng, edges.low, edges.high),
    sport: rng.int(1024, 65535),
  };
}

/** A random packet: 85% aimed at a random rule of `set`, the rest anywhere near its pools. */
export function edgePacket(rng: SeededRandom, set: RuleSet, targets: PacketTargets): EdgePacket {
  if (set.rules.length > 0 && rng.chance(0.85)) return aimedAt(rng, rng.pick(set.rules), set, targets);
  return anywhere(rng, set, targets);
}

/** The packet as an Ethernet frame (a TCP SYN, or UDP); source ports are >= 1024 (never DHCP's). */
export function packetFrame(p: EdgePacket): Uint8Array {
  const options = { proto: p.proto === 6 ? ('tcp' as const) : ('udp' as const), sport: p.sport, dport: p.port, tcpFlags: 0x02 };
  return p.family === 4
    ? ipv4Frame({ ...options, src: p.src.subarray(0, 4), dst: p.dst.subarray(0, 4) })
    : ipv6Frame({ ...options, src: p.src, dst: p.dst });
}
