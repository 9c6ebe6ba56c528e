/** fast-check generators of rule sets and packets that overlap a lot (few base addresses, shared low ports). */
import fc from 'fast-check';
import type { PlanRule } from '../../src/apply-plan.js';
import { makePrefix, type Prefix } from '../../src/key-prefix.js';
import { ruleIdentity } from '../../src/rule-identity.js';
import type { Packet } from './rule-model.js';

const V4_BASES = [
  [10, 0, 0, 0],
  [10, 0, 1, 0],
  [10, 1, 0, 0],
  [192, 168, 0, 0],
];
const V6_BASES = [
  [0xfd, 0, 0, 0, 0, 0, 0, 0],
  [0xfd, 0, 0, 0, 0, 0, 0, 1],
  [0xfd, 0, 0, 1, 0, 0, 0, 0],
  [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0],
];
const PORTS = [0, 1, 21, 22, 53, 80, 443, 1023, 1024, 8080, 8443, 65534, 65535];

/** An address near one of the bases: the base with a few random low bits. */
export function addressArb(family: 4 | 6): fc.Arbitrary<Uint8Array> {
  const bases = family === 4 ? V4_BASES : V6_BASES;
  return fc.tuple(fc.constantFrom(...bases), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 })).map(([base, mid, low]) => {
    const out = new Uint8Array(16);
    out.set(base, 0);
    const n = family === 4 ? 4 : 16;
    out[n - 1] = low;
    out[n - 2] |= mid;
    return out;
  });
}

export function mask(bytes: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, len - 8 * i));
    out[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return out;
}

export function prefixArb(family: 4 | 6): fc.Arbitrary<Prefix> {
  const max = family === 4 ? 32 : 128;
  const lengths = family === 4 ? [0, 8, 16, 23, 24, 25, 30, 31, 32] : [0, 16, 48, 63, 64, 65, 120, 127, 128];
  return fc
    .tuple(addressArb(family), fc.oneof(fc.constantFrom(...lengths), fc.integer({ min: 0, max })))
    .map(([addr, len]) => makePrefix(family, mask(addr, len), len));
}

export const portRangeArb: fc.Arbitrary<[number, number]> = fc
  .tuple(
    fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0, 22, 80, 443, 1024) }, { weight: 2, arbitrary: fc.constantFrom(...PORTS) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 65535 }) }),
    fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 10 }), fc.constantFrom(1, 7, 100, 1000), fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 65535 })),
  )
  .map(([low, span]) => [low, Math.min(65535, low + span)]);

export interface RuleSetOptions {
  readonly maxRules?: number;
  readonly interfaces?: readonly number[];
}

/**
 * A few prefixes per family that nest: each of 1-3 addresses cut at 1-3 lengths, plus the default
 * route, so that rules overlap a lot.
 */
function prefixPoolArb(family: 4 | 6): fc.Arbitrary<Prefix[]> {
  const max = family === 4 ? 32 : 128;
  const lengthArb = fc.oneof(fc.constantFrom(...(family === 4 ? [8, 16, 24, 30, 32] : [32, 64, 96, 127, 128])), fc.integer({ min: 0, max }));
  return fc
    .array(fc.tuple(addressArb(family), fc.array(lengthArb, { minLength: 1, maxLength: 3 })), { minLength: 1, maxLength: 3 })
    .map((list) => {
      const out = new Map<string, Prefix>();
      const any = makePrefix(family, new Uint8Array(16), 0);
      out.set(any.text, any);
      for (const [addr, lengths] of list) {
        for (const len of lengths) {
          const p = makePrefix(family, mask(addr, len), len);
          out.set(p.text, p);
        }
      }
      return [...out.values()];
    });
}

function ruleArb(family: 4 | 6, pool: readonly Prefix[], interfaces: readonly number[]): fc.Arbitrary<PlanRule> {
  return fc
    .record({
      destination: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: prefixArb(family) }),
      source: fc.oneof({ weight: 2, arbitrary: fc.constant(pool[0]) }, { weight: 3, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: prefixArb(family) }),
      proto: fc.oneof({ weight: 3, arbitrary: fc.constant(6) }, { weight: 1, arbitrary: fc.constant(17) }),
      ports: portRangeArb,
      action: fc.constantFrom(1, 2, 3),
      tproxyPort: fc.integer({ min: 1, max: 65535 }),
      ifindexes: fc.option(fc.subarray([...interfaces], { minLength: 1 }), { nil: undefined, freq: 3 }),
    })
    .map((r) => ({
      identity: ruleIdentity(r.destination.text, r.source.text, r.proto === 6 ? 'tcp' : 'udp', r.ports[0], r.ports[1]),
      family,
      proto: r.proto,
      destination: r.destination,
      source: r.source,
      low: r.ports[0],
      high: r.ports[1],
      action: r.action,
      tproxyPort: r.action === 1 ? r.tproxyPort : 0,
      ...(r.ifindexes !== undefined ? { ifindexes: [...r.ifindexes].sort((a, b) => a - b) } : {}),
    }));
}

/** Rule sets of one or both families over nesting prefix pools, one rule per identity. */
export function ruleSetArb(options: RuleSetOptions = {}): fc.Arbitrary<PlanRule[]> {
  const interfaces = options.interfaces ?? [1, 2];
  const maxLength = options.maxRules ?? 25;
  return fc.tuple(prefixPoolArb(4), prefixPoolArb(6)).chain(([p4, p6]) =>
    fc.uniqueArray(fc.oneof(ruleArb(4, p4, interfaces), ruleArb(6, p6, interfaces)), { maxLength, selector: (r) => r.identity }),
  );
}

/** An address inside `prefix`: its bits, then random ones. */
function inside(prefix: Prefix, noise: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  const n = prefix.family === 4 ? 4 : 16;
  for (let i = 0; i < n; i++) {
    const keep = Math.max(0, Math.min(8, prefix.length - 8 * i));
    const m = (0xff << (8 - keep)) & 0xff;
    out[i] = (prefix.bytes[i] & m) | (noise[i] & ~m & 0xff);
  }
  return out;
}

/** A packet aimed at one rule: inside its prefixes, at or next to its range edges. */
function packetFor(rule: PlanRule, interfaces: readonly number[]): fc.Arbitrary<Packet> {
  // noise mostly from the base addresses, so that the packet also falls inside the nested prefixes
  const noise = fc.oneof({ weight: 3, arbitrary: addressArb(rule.family) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 16, maxLength: 16 }) });
  const ports = [rule.low, rule.high, rule.low - 1, rule.high + 1].filter((p) => p >= 0 && p <= 65535);
  return fc.record({
    ifindex: fc.constantFrom(...(rule.ifindexes ?? interfaces)),
    family: fc.constant(rule.family),
    proto: fc.oneof({ weight: 9, arbitrary: fc.constant(rule.proto) }, { weight: 1, arbitrary: fc.constantFrom(6, 17) }),
    dst: noise.map((n) => inside(rule.destination, n)),
    src: noise.map((n) => inside(rule.source, n)),
    port: fc.oneof(fc.constantFrom(...ports), fc.integer({ min: rule.low, max: rule.high })),
  });
}

/** Packets aimed at the rules (most inside some rule's prefixes and near its range edges), and some anywhere. */
export function packetArb(rules: readonly PlanRule[], interfaces: readonly number[]): fc.Arbitrary<Packet> {
  const anywhere = randomPacketArb(rules, interfaces);
  if (rules.length === 0) return anywhere;
  const aimed = fc.constantFrom(...rules).chain((r) => packetFor(r, interfaces));
  return fc.oneof({ weight: 4, arbitrary: aimed }, { weight: 1, arbitrary: anywhere });
}

function randomPacketArb(rules: readonly PlanRule[], interfaces: readonly number[]): fc.Arbitrary<Packet> {
  const edges = new Set<number>([0, 65535]);
  for (const r of rules) for (const p of [r.low - 1, r.low, r.high, r.high + 1]) if (p >= 0 && p <= 65535) edges.add(p);
  const family = fc.constantFrom<4 | 6>(4, 6);
  return family.chain((f) =>
    fc.record({
      ifindex: fc.constantFrom(...interfaces, 99),
      family: fc.constant(f),
      proto: fc.constantFrom(6, 17),
      dst: addressArb(f),
      src: addressArb(f),
      port: fc.oneof(fc.constantFrom(...edges), fc.integer({ min: 0, max: 65535 })),
    }),
  );
}
