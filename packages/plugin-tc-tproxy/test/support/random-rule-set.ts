/**
 * Test support for the differential kernel test: large random rule sets (thousands of `tproxy.rule`
 * intents) that overlap a lot, each rule also in the planner's form for the reference matcher
 * (rule-model.ts), and the prefix pools they were drawn from (packets take their addresses near them).
 *
 * Destinations come from "ladders": per anchor address, nested prefixes of random lengths (any length
 * 0..32 / 0..128) and some of their siblings (the adjacent prefix of the same length); anchors are
 * often derived from one another by flipping one bit, so ladders share leading bits. Sources come from
 * smaller ladders or are "any". Ports are single ports, small and aligned ranges and their off-by-one
 * variants, wide ranges; tcp and udp; divert, pass and deny; some rules only on some interfaces.
 * Short prefixes and wide ranges are kept rare: every node under a prefix holds its rules, so they
 * multiply the trie entries (2,500 rules compile to some 100,000-300,000 port entries).
 */
import type { Intent } from '@bpfsteer/agent-kernel';
import type { PlanRule } from '../../src/apply-plan.js';
import { makePrefix, type Prefix } from '../../src/key-prefix.js';
import { TPROXY_RULE_KIND } from '@bpfsteer/contract-tproxy';
import { mask } from './rule-arbitraries.js';
import type { SeededRandom } from './seeded-random.js';

export type Family = 4 | 6;

export interface AttachedInterface {
  readonly name: string;
  readonly ifindex: number;
}

/** A generated rule: the intent the plugin gets, and the same rule for the reference matcher. */
export interface DifferentialRule extends PlanRule {
  readonly intent: Intent;
  /** unique per rule set (the intent's `service`): finds the rule's id in describeRules() */
  readonly name: string;
}

export interface RuleSet {
  readonly rules: readonly DifferentialRule[];
  /** the destination and source prefixes the rules were drawn from, per family */
  readonly pools: Readonly<Record<Family, readonly Prefix[]>>;
}

export interface RuleSetOptions {
  /** rules to draw (duplicates of one identity are drawn again) */
  readonly count: number;
  /** the attached interfaces rules may be restricted to */
  readonly interfaces: readonly AttachedInterface[];
  /** destination anchors per family (default count / 20, at least 6) */
  readonly anchors?: number;
}

const POPULAR_PORTS = [0, 1, 21, 22, 53, 80, 443, 1023, 1024, 1025, 8080, 8443, 32767, 32768, 65534, 65535];
const ACTION = { divert: 1, pass: 2, deny: 3 } as const;
const PROTO = { tcp: 6, udp: 17 } as const;

export const maxBits = (family: Family): number => (family === 4 ? 32 : 128);

/** `bytes` (16, IPv4 in 0..3) with bit `i` (0 = most significant) flipped. */
export function flipBit(bytes: Uint8Array, i: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out[i >> 3] ^= 0x80 >> (i & 7);
  return out;
}

function prefixOf(family: Family, bytes: Uint8Array, length: number): Prefix {
  return makePrefix(family, mask(bytes, length), length);
}

function freshAnchor(rng: SeededRandom, family: Family): Uint8Array {
  const out = new Uint8Array(16);
  if (family === 4) {
    const base = rng.pick([[10], [172, 16], [192, 168], []]);
    out.set(rng.bytes(4), 0);
    out.set(base, 0);
    if (base.length === 2 && base[0] === 172) out[1] = 16 | (out[1] & 0x0f);
  } else {
    const base = rng.pick([[0xfd], [0x20, 0x01, 0x0d, 0xb8], [0x26, 0x00]]);
    out.set(rng.bytes(16), 0);
    out.set(base, 0);
  }
  return out;
}

/** Anchors that often share leading bits: each is fresh or an earlier one with one bit flipped. */
function anchors(rng: SeededRandom, family: Family, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const bits = maxBits(family);
  for (let i = 0; i < n; i++) {
    out.push(out.length === 0 || rng.chance(0.7) ? freshAnchor(rng, family) : flipBit(rng.pick(out), rng.int(family === 4 ? 4 : 8, bits - 1)));
  }
  return out;
}

function ladderLength(rng: SeededRandom, family: Family): number {
  const bits = maxBits(family);
  // short prefixes contain most of the others (every node below them holds their rules): few of them
  return rng.weighted<number>([
    [3, () => rng.int(2, bits / 8) * 8],
    [2, () => rng.pick([bits, bits - 1, bits - 2])],
    [5, () => rng.int(bits / 2, bits)],
    [0.3, () => rng.int(bits / 4 + 1, bits / 2)],
    [0.05, () => rng.int(1, bits / 4)],
  ]);
}

/** Nested prefixes of each anchor at 2..5 lengths, and the siblings of some. */
function ladders(rng: SeededRandom, family: Family, roots: readonly Uint8Array[]): Prefix[] {
  const out = new Map<string, Prefix>();
  for (const anchor of roots) {
    const steps = rng.int(2, 4);
    for (let i = 0; i < steps; i++) {
      const len = ladderLength(rng, family);
      const p = prefixOf(family, anchor, len);
      out.set(p.key, p);
      if (len > 0 && rng.chance(0.4)) {
        const sibling = prefixOf(family, flipBit(anchor, len - 1), len);
        out.set(sibling.key, sibling);
      }
    }
  }
  return [...out.values()];
}

function portRange(rng: SeededRandom): [number, number] {
  const clampHigh = (low: number, span: number): [number, number] => [low, Math.min(65535, low + span)];
  return rng.weighted<[number, number]>([
    [36, () => {
      const p = rng.chance(0.7) ? rng.pick(POPULAR_PORTS) : rng.int(0, 65535);
      return [p, p];
    }],
    [30, () => clampHigh(rng.chance(0.7) ? rng.pick(POPULAR_PORTS) : rng.int(0, 65535), rng.int(1, 16))],
    [20, () => {
      // an aligned block, or one off by one at either end
      const bits = rng.int(1, 12);
      const low = rng.int(0, (65536 >> bits) - 1) << bits;
      const high = low + (1 << bits) - 1;
      return rng.weighted<[number, number]>([
        [2, () => [low, high]],
        [1, () => [Math.min(low + 1, high), high]],
        [1, () => [low, Math.max(high - 1, low)]],
        [1, () => [low, Math.min(high + 1, 65535)]],
      ]);
    }],
    [4, () => {
      const a = rng.int(0, 65535);
      const b = rng.int(0, 65535);
      return [Math.min(a, b), Math.max(a, b)];
    }],
    [3, () => [0, 65535]],
    [3, () => (rng.chance(0.5) ? [0, rng.int(0, 65535)] : [rng.int(0, 65535), 65535])],
  ]);
}

function interfacesOf(rng: SeededRandom, attached: readonly AttachedInterface[]): AttachedInterface[] | undefined {
  return rng.weighted<AttachedInterface[] | undefined>([
    [72, () => undefined],
    [3, () => []], // "every attached interface", like no list
    [25, () => {
      const some = attached.filter(() => rng.chance(0.5));
      return some.length > 0 ? some.reverse() : [rng.pick(attached)]; // (listed in any order)
    }],
  ]);
}

/** A random rule set of up to `count` rules (one per identity), with the pools it was drawn from. */
export function randomRuleSet(rng: SeededRandom, options: RuleSetOptions): RuleSet {
  const nAnchors = options.anchors ?? Math.max(6, Math.round(options.count / 20));
  const dstPools = {} as Record<Family, Prefix[]>;
  const srcPools = {} as Record<Family, Prefix[]>;
  const shortPools = {} as Record<Family, Prefix[]>;
  for (const family of [4, 6] as const) {
    const roots = anchors(rng, family, nAnchors);
    dstPools[family] = ladders(rng, family, roots);
    srcPools[family] = ladders(rng, family, anchors(rng, family, Math.max(3, nAnchors >> 3)));
    // "any" and a few short prefixes: they contain much of the rest
    shortPools[family] = [prefixOf(family, roots[0], 0), ...Array.from({ length: 3 }, () => prefixOf(family, rng.pick(roots), rng.int(1, 8)))];
  }
  const rules: DifferentialRule[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < options.count; i++) {
    const family: Family = rng.chance(0.55) ? 4 : 6;
    const destination = rng.weighted<Prefix>([
      [0.5, () => rng.pick(shortPools[family])],
      [93.5, () => rng.pick(dstPools[family])],
      [6, () => prefixOf(family, rng.pick(dstPools[family]).bytes, rng.int(maxBits(family) >> 1, maxBits(family)))],
    ]);
    const source = rng.weighted<Prefix>([
      [75, () => prefixOf(family, new Uint8Array(16), 0)],
      [20, () => rng.pick(srcPools[family])],
      [5, () => prefixOf(family, rng.pick(srcPools[family]).bytes, rng.int(1, maxBits(family)))],
    ]);
    const protocol = rng.chance(0.6) ? 'tcp' : 'udp';
    const [low, high] = portRange(rng);
    const identity = `${destination.key} ${source.key} ${protocol} ${low}-${high}`;
    if (seen.has(`${family} ${identity}`)) continue;
    seen.add(`${family} ${identity}`);
    const action = rng.weighted<keyof typeof ACTION>([
      [40, () => 'divert'],
      [35, () => 'pass'],
      [25, () => 'deny'],
    ]);
    const tproxyPort = action === 'divert' ? rng.int(1, 65535) : 0;
    const on = interfacesOf(rng, options.interfaces);
    const name = `r${i}`;
    const intent: Intent = {
      kind: TPROXY_RULE_KIND,
      destination: destination.text, // (a wrong text would parse to another rule than the model's bytes: a mismatch)
      source: source.text,
      protocol,
      ports: { low, high },
      action,
      ...(action === 'divert' ? { tproxyPort } : {}),
      ...(on !== undefined ? { interfaces: on.map((x) => x.name) } : {}),
      service: name,
    };
    rules.push({
      identity,
      family,
      proto: PROTO[protocol],
      destination,
      source,
      low,
      high,
      action: ACTION[action],
      tproxyPort,
      ...(on !== undefined && on.length > 0 ? { ifindexes: on.map((x) => x.ifindex) } : {}),
      intent,
      name,
    });
  }
  const pools = {
    4: [...dstPools[4], ...srcPools[4], ...shortPools[4]],
    6: [...dstPools[6], ...srcPools[6], ...shortPools[6]],
  };
  return { rules, pools };
}
