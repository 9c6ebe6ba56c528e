/**
 * The incremental planner, by property over random SEQUENCES of applies (rules added, removed,
 * their actions and interface lists changed, rules nested under and over existing destinations,
 * the attached interfaces changed, equal copies and reorderings re-applied, restarts, refused
 * applies, rule ids running out):
 * - after every apply the maps (a model of the kernel's) hold exactly what a from-scratch compile
 *   of that rule set writes — compared with ids resolved against both a fresh planApply and the
 *   independent batch compiler compileRules — and nothing unreachable;
 * - during every apply, after every single map operation, every packet gets the rule of the old or
 *   of the new rule set;
 * - a refused apply (capacity) changes nothing: the same rules again write nothing;
 * - after a restart the adopted state writes nothing for the same rules and keeps every id.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CompileCapacityError,
  dstKeyOf,
  PatchNotApplicable,
  planApply,
  planConvergence,
  planPatch,
  planSize,
  portKeyOf,
  srcKeyOf,
  type PlannedApply,
  type PlanRule,
} from '../src/apply-plan.js';
import { compileRules, type CompileRule } from '../src/compile-rules.js';
import { makePrefix, type Prefix } from '../src/key-prefix.js';
import { identityHash, ruleIdentity } from '../src/rule-identity.js';
import { adoptTries } from '../src/trie-adoption.js';
import { emptyTrieState, type TrieState } from '../src/trie-state.js';
import { mask, portRangeArb, ruleSetArb } from './support/rule-arbitraries.js';
import { MapModel, kernelOf, kernelDump, referenceWinner, samePrefix, type Packet } from './support/rule-model.js';

const ALL = [1, 2, 3];
const CAPACITY = 1000;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

type Picks = number[];
type Op =
  | { kind: 'add'; rules: PlanRule[] }
  | { kind: 'nest'; pick: number; mode: 'ports' | 'shorter' | 'longer' | 'tie'; cut: number; noise: number[]; ports: [number, number]; action: number; tproxyPort: number }
  | { kind: 'remove'; picks: Picks }
  | { kind: 'action'; picks: Picks; action: number; tproxyPort: number }
  | { kind: 'interfaces'; picks: Picks; ifindexes: number[] | undefined }
  | { kind: 'attached'; attached: number[] }
  | { kind: 'same'; copy: boolean; reverse: boolean }
  | { kind: 'restart' }
  | { kind: 'refused'; picks: Picks; trie: 'dst' | 'src' | 'port' };

const picksArb = fc.array(fc.nat(), { minLength: 1, maxLength: 4 });
const actionArb = fc.constantFrom(1, 2, 3);
const ifaceListArb = fc.option(fc.subarray(ALL, { minLength: 1 }), { nil: undefined, freq: 2 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: ruleSetArb({ maxRules: 5, interfaces: ALL }).map((rules) => ({ kind: 'add' as const, rules })) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('nest' as const),
      pick: fc.nat(),
      mode: fc.constantFrom('ports' as const, 'shorter' as const, 'longer' as const, 'tie' as const),
      cut: fc.nat(),
      noise: fc.array(fc.nat({ max: 255 }), { minLength: 16, maxLength: 16 }),
      ports: portRangeArb,
      action: actionArb,
      tproxyPort: fc.integer({ min: 1, max: 65535 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), picks: picksArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('action' as const), picks: picksArb, action: actionArb, tproxyPort: fc.integer({ min: 1, max: 65535 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('interfaces' as const), picks: picksArb, ifindexes: ifaceListArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('attached' as const), attached: fc.subarray(ALL, { minLength: 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('same' as const), copy: fc.boolean(), reverse: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('refused' as const), picks: picksArb, trie: fc.constantFrom('dst' as const, 'src' as const, 'port' as const) }) },
);

const identityOf = (r: Omit<PlanRule, 'identity'>) =>
  ruleIdentity(r.destination.text, r.source.text, r.proto === 6 ? 'tcp' : 'udp', r.low, r.high);

function withAction(r: PlanRule, action: number, tproxyPort: number): PlanRule {
  return { ...r, action, tproxyPort: action === 1 ? tproxyPort : 0 };
}

/**
 * A rule over, under or next to an existing one: same source, a containing or contained
 * destination, other ports; or ('tie') the same prefixes and range width, shifted a little (a tie
 * that the deny flag, then the lower range decides).
 */
function nested(base: PlanRule, op: Extract<Op, { kind: 'nest' }>): PlanRule {
  const max = base.family === 4 ? 32 : 128;
  let destination: Prefix = base.destination;
  if (op.mode === 'shorter' && base.destination.length > 0) {
    const len = op.cut % base.destination.length;
    destination = makePrefix(base.family, mask(base.destination.bytes, len), len);
  } else if (op.mode === 'longer' && base.destination.length < max) {
    const len = base.destination.length + 1 + (op.cut % (max - base.destination.length));
    const bytes = new Uint8Array(16);
    const n = base.family === 4 ? 4 : 16;
    for (let i = 0; i < n; i++) bytes[i] = op.noise[i];
    // keep the base's bits, random ones after them
    for (let bit = 0; bit < base.destination.length; bit++) {
      const m = 0x80 >> (bit & 7);
      bytes[bit >> 3] = (bytes[bit >> 3] & ~m) | (base.destination.bytes[bit >> 3] & m);
    }
    destination = makePrefix(base.family, mask(bytes, len), len);
  }
  const shift = 1 + (op.cut % 3);
  const [low, high] =
    op.mode === 'ports'
      ? op.ports
      : op.mode === 'tie'
        ? base.high + shift <= 65535
          ? [base.low + shift, base.high + shift]
          : base.low - shift >= 0
            ? [base.low - shift, base.high - shift]
            : [base.low, base.high]
        : [base.low, base.high];
  const { ifindexes: _i, ...rest } = base;
  const r = { ...rest, destination, low, high, action: op.action, tproxyPort: op.action === 1 ? op.tproxyPort : 0 };
  return { ...r, identity: identityOf(r) };
}

const at = <T,>(list: readonly T[], i: number): T => list[i % list.length];

/** Applies `picks` to distinct indexes of `rules`. */
function pickedIndexes(rules: readonly PlanRule[], picks: Picks): Set<number> {
  return new Set(rules.length === 0 ? [] : picks.map((p) => p % rules.length));
}

function addAll(rules: PlanRule[], added: readonly PlanRule[]): PlanRule[] {
  const seen = new Set(rules.map((r) => r.identity));
  for (const r of added) if (!seen.has(r.identity)) (seen.add(r.identity), rules.push(r));
  return rules;
}

function removePicked(rules: readonly PlanRule[], picks: Picks): PlanRule[] {
  const gone = pickedIndexes(rules, picks);
  return rules.filter((_, i) => !gone.has(i));
}

/** The kernel entries a batch compile (compileRules) of `rules` with rule ids `ids` gives, as kernelDump lines. */
function batchDump(rules: readonly PlanRule[], ids: readonly number[], attached: readonly number[]): string[] {
  const byId = new Map(rules.map((r, i) => [ids[i], r]));
  const input: CompileRule[] = rules.map((r, i) => ({
    id: ids[i],
    family: r.family,
    proto: r.proto,
    destination: r.destination,
    source: r.source,
    low: r.low,
    high: r.high,
    deny: r.action === 3,
    dstLength: r.destination.length,
    srcLength: r.source.length,
    ...(r.ifindexes !== undefined ? { ifindexes: r.ifindexes } : {}),
  }));
  const out: string[] = [];
  for (const [ifindex, nodes] of compileRules(input, attached).byIfindex) {
    for (const node of nodes) {
      const d = dstKeyOf({ ifindex, family: node.family, proto: node.proto, prefix: node.prefix });
      const dk = `${d.prefixlen}|${d.ifindex}|${d.family}|${d.proto}|${hex(d.addr)}`;
      const slot = (ruleId: number) => {
        const r = byId.get(ruleId)!;
        return `${identityHash(r.identity)}:${r.action}:${r.tproxyPort}`;
      };
      if (node.content.inline !== undefined) {
        for (const iv of node.content.inline) out.push(`${dk} / inline ${iv.low}-${iv.high} -> ${slot(iv.ruleId)}`);
        continue;
      }
      for (const sn of node.content.srcNodes) {
        const s = srcKeyOf(0, sn.prefix);
        for (const b of sn.blocks) {
          const p = portKeyOf(0, b.port, b.bits);
          out.push(`${dk} / ${s.prefixlen}|${hex(s.addr)} / ${p.prefixlen}|${p.port_be} -> ${slot(b.ruleId)}`);
        }
      }
    }
  }
  return out.sort();
}

/** A deterministic source of packets aimed at the rules (inside their prefixes, at their range edges). */
function packetMaker(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const inside = (p: Prefix, noise: Uint8Array) => {
    const out = new Uint8Array(16);
    const n = p.family === 4 ? 4 : 16;
    for (let i = 0; i < n; i++) {
      const keep = Math.max(0, Math.min(8, p.length - 8 * i));
      const m = (0xff << (8 - keep)) & 0xff;
      out[i] = (p.bytes[i] & m) | (noise[i] & ~m & 0xff);
    }
    return out;
  };
  return (rules: readonly PlanRule[], count: number): Packet[] => {
    const out: Packet[] = [];
    for (let k = 0; k < count && rules.length > 0; k++) {
      const r = rules[next() % rules.length];
      // noise from another rule's destination, so that packets fall into nested prefixes too
      const other = rules[next() % rules.length];
      const noise = other.family === r.family && next() % 2 === 0 ? other.destination.bytes : Uint8Array.from({ length: 16 }, () => next() & 255);
      const ports = [r.low, r.high, r.low - 1, r.high + 1, r.low + (next() % (r.high - r.low + 1))].filter((p) => p >= 0 && p <= 65535);
      out.push({
        ifindex: ALL[next() % ALL.length],
        family: r.family,
        proto: next() % 8 === 0 ? (r.proto === 6 ? 17 : 6) : r.proto,
        dst: inside(r.destination, noise),
        src: inside(r.source, Uint8Array.from({ length: 16 }, () => next() & 255)),
        port: ports[next() % ports.length],
      });
    }
    return out;
  };
}

/** The world of one sequence: the tracked state, the maps, the rules in force and their ids. */
class World {
  state: TrieState = emptyTrieState(CAPACITY);
  readonly model = new MapModel();
  rules: PlanRule[] = [];
  ids: number[] = [];
  attached: number[] = [1, 2];
  /** applies planned by position (planPatch) */
  patched = 0;

  /** `patch`: plan each apply by its changed positions (planPatch) where it can, as the plugin does */
  constructor(
    private readonly packets: (rules: readonly PlanRule[], count: number) => Packet[],
    private readonly patch = false,
  ) {}

  /** planPatch for the changed positions, or planApply when the change cannot be planned alone. */
  #plan(rules: PlanRule[], attached: readonly number[]): { step: PlannedApply; ids: number[] } {
    if (this.patch) {
      const positions = rules.flatMap((r, i) => (r === this.rules[i] ? [] : [i]));
      try {
        const step = planPatch(this.state, { length: rules.length, positions, rules: positions.map((i) => rules[i]), ifindexes: attached });
        this.patched++;
        return { step, ids: [...step.next.lastIds] };
      } catch (err) {
        if (!(err instanceof PatchNotApplicable)) throw err;
      }
    }
    const step = planApply(this.state, { rules, ifindexes: attached });
    return { step, ids: [...step.ids] };
  }

  expected(rules: readonly PlanRule[], ids: readonly number[], attached: readonly number[], p: Packet): number {
    const w = referenceWinner(rules, p, attached);
    return w === undefined ? 0 : ids[rules.indexOf(w)];
  }

  /** One apply, checked after each of its map operations and at the end. */
  apply(rules: PlanRule[], attached = this.attached): void {
    const packets = this.packets([...this.rules, ...rules], 12);
    const old = packets.map((p) => this.model.lookup(p));
    const { step, ids } = this.#plan(rules, attached);
    const fresh = packets.map((p) => this.expected(rules, ids, attached, p));
    for (const op of this.model.operations(step.plan)) {
      op();
      packets.forEach((p, i) => {
        const got = this.model.lookup(p);
        if (got !== old[i] && got !== fresh[i]) throw new Error(`packet ${i}: got rule ${got}, old ${old[i]}, new ${fresh[i]}`);
      });
    }
    this.state = step.next;
    this.rules = rules;
    this.ids = ids;
    this.attached = attached;
    this.check();
  }

  /** The maps hold exactly what a from-scratch compile of the rules in force writes. */
  check(): void {
    const dump = kernelDump(this.model);
    expect(dump.filter((l) => l.startsWith('orphan') || l.includes('(no '))).toEqual([]);
    // a fresh planner from an empty state
    const scratch = new MapModel();
    const fresh = planApply(emptyTrieState(CAPACITY), { rules: this.rules, ifindexes: this.attached });
    scratch.apply(fresh.plan);
    expect(dump).toEqual(kernelDump(scratch));
    // the independent batch compiler
    expect(dump).toEqual(batchDump(this.rules, this.ids, this.attached));
    expect(this.model.dst.size).toBe(scratch.dst.size);
    expect(this.model.src.size).toBe(scratch.src.size);
    expect(this.model.port.size).toBe(scratch.port.size);
    // slots: exactly the rules in force
    expect(new Set(this.model.rules.keys())).toEqual(new Set(this.ids));
    this.rules.forEach((r, i) => {
      const v = this.model.rules.get(this.ids[i])!;
      expect([v.identity, v.action, v.tproxy_port_be]).toEqual([identityHash(r.identity), r.action, r.tproxyPort]);
    });
    // the tracked state counts what the maps hold
    expect([this.state.dstEntries, this.state.srcEntries, this.state.portEntries, this.state.ruleCount]).toEqual([
      this.model.dst.size,
      this.model.src.size,
      this.model.port.size,
      this.model.rules.size,
    ]);
    // and packets get the reference matcher's rule
    for (const p of this.packets(this.rules, 20)) expect(this.model.lookup(p)).toBe(this.expected(this.rules, this.ids, this.attached, p));
  }

  /** The same rules again write nothing and keep their ids. */
  expectSettled(): void {
    const again = planApply(this.state, { rules: this.rules, ifindexes: this.attached });
    expect(planSize(again.plan)).toEqual({ written: 0, deleted: 0 });
    expect(again.ids).toEqual(this.ids);
    this.state = again.next;
  }

  run(op: Op): void {
    const rules = this.rules;
    switch (op.kind) {
      case 'add':
        return this.apply(addAll([...rules], op.rules));
      case 'nest':
        return this.apply(rules.length === 0 ? [] : addAll([...rules], [nested(at(rules, op.pick), op)]));
      case 'remove':
        return this.apply(removePicked(rules, op.picks));
      case 'action': {
        const picked = pickedIndexes(rules, op.picks);
        return this.apply(rules.map((r, i) => (picked.has(i) ? withAction(r, op.action, op.tproxyPort) : r)));
      }
      case 'interfaces': {
        const picked = pickedIndexes(rules, op.picks);
        return this.apply(
          rules.map((r, i) => {
            if (!picked.has(i)) return r;
            const { ifindexes: _i, ...rest } = r;
            return op.ifindexes === undefined ? rest : { ...rest, ifindexes: [...op.ifindexes].sort((a, b) => a - b) };
          }),
        );
      }
      case 'attached':
        return this.apply(rules, op.attached);
      case 'same': {
        const list = op.copy ? rules.map((r) => ({ ...r })) : [...rules];
        if (op.reverse) list.reverse();
        const before = this.model.dst.size + this.model.src.size + this.model.port.size;
        const step = planApply(this.state, { rules: list, ifindexes: this.attached });
        expect(planSize(step.plan)).toEqual({ written: 0, deleted: 0 });
        expect(before).toBe(this.model.dst.size + this.model.src.size + this.model.port.size);
        this.state = step.next;
        this.rules = list;
        this.ids = [...step.ids];
        return this.check();
      }
      case 'restart': {
        const adopted = adoptTries(kernelOf(this.model), CAPACITY);
        expect(adopted.straySrc).toEqual([]);
        expect(adopted.strayPort).toEqual([]);
        this.state = adopted.state;
        return this.expectSettled();
      }
      case 'refused': {
        const target = removePicked(rules, op.picks);
        const needs = compileRules(
          target.map((r, i) => ({ ...r, id: i + 1, deny: r.action === 3, dstLength: r.destination.length, srcLength: r.source.length })),
          this.attached,
        ).counts[op.trie];
        if (needs === 0) return;
        expect(() => planApply(this.state, { rules: target, ifindexes: this.attached, limits: { [op.trie]: needs - 1 } })).toThrow(CompileCapacityError);
        return this.expectSettled();
      }
    }
  }
}

const sequenceArb = fc.record({
  initial: ruleSetArb({ maxRules: 20, interfaces: ALL }),
  ops: fc.array(opArb, { minLength: 2, maxLength: 10 }),
  seed: fc.integer({ min: 1, max: 0x7fffffff }),
});

describe('a sequence of incremental applies', { timeout: 300_000 }, () => {
  it('always leaves the maps exactly as a from-scratch compile, old-or-new after every map operation', () => {
    fc.assert(
      fc.property(sequenceArb, ({ initial, ops, seed }) => {
        const world = new World(packetMaker(seed));
        world.apply(initial);
        for (const op of ops) world.run(op);
        world.expectSettled();
      }),
      { numRuns: 300 },
    );
  });

  it('planned by changed positions (planPatch), the same', () => {
    let patched = 0;
    fc.assert(
      fc.property(sequenceArb, ({ initial, ops, seed }) => {
        const world = new World(packetMaker(seed), true);
        world.apply(initial);
        for (const op of ops) world.run(op);
        world.expectSettled();
        patched += world.patched;
      }),
      { numRuns: 300 },
    );
    expect(patched).toBeGreaterThan(300); // most applies were planned by position
  });

  it('converges the same way when rule ids run out and an apply takes two steps', () => {
    fc.assert(
      fc.property(sequenceArb, ({ initial, ops, seed }) => {
        // capacity: just the largest rule set of the sequence, so that replacing rules exhausts ids
        const world = new World(packetMaker(seed));
        let rules = initial;
        const sets: PlanRule[][] = [rules];
        for (const op of ops) {
          if (op.kind === 'add') rules = addAll([...rules], op.rules);
          else if (op.kind === 'nest' && rules.length > 0) rules = addAll([...rules], [nested(at(rules, op.pick), op)]);
          else if (op.kind === 'remove') rules = removePicked(rules, op.picks);
          else if (op.kind === 'action') {
            const picked = pickedIndexes(rules, op.picks);
            rules = rules.map((r, i) => (picked.has(i) ? withAction(r, op.action, op.tproxyPort) : r));
          } else continue;
          sets.push(rules);
        }
        const capacity = Math.max(1, ...sets.map((s) => s.length));
        let state = emptyTrieState(capacity);
        const model = new MapModel();
        for (const set of sets) {
          const steps = planConvergence(state, { rules: set, ifindexes: ALL });
          for (const s of steps) model.apply(s.plan);
          state = steps[steps.length - 1].next;
          const ids = steps[steps.length - 1].ids;
          for (const id of ids) expect(id).toBeLessThanOrEqual(capacity);
          expect(kernelDump(model)).toEqual(batchDump(set, ids, ALL));
          for (const p of packetMaker(seed)(set, 10)) {
            expect(model.lookup(p)).toBe(world.expected(set, ids, ALL, p));
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

// keep the helper honest: samePrefix is the naive bit-by-bit matcher the model uses
it('packets made for a rule fall inside its destination', () => {
  const make = packetMaker(7);
  fc.assert(
    fc.property(ruleSetArb({ maxRules: 8, interfaces: ALL }), (rules) => {
      for (const p of make(rules, 10)) expect(rules.some((r) => r.family === p.family && samePrefix(r.destination.bytes, p.dst, r.destination.length))).toBe(true);
    }),
    { numRuns: 50 },
  );
});
