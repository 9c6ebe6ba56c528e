/**
 * Differential test of the real tctp_ingress against the brute-force reference matcher
 * (support/rule-model.ts): random rule sets of thousands of rules (overlapping IPv4 and IPv6
 * prefixes of every length, single ports and overlapping ranges, source prefixes, tcp and udp,
 * divert / pass / deny, some rules on one interface only) are applied by the plugin's own dataplane
 * (normalizer, planner, batched map writes; maps pinned under a unique pinRoot), and tens of
 * thousands of packets biased to the rules' edges go through the very tctp_ingress program the
 * dataplane attached (found on the interface's tcx hook) with BPF_PROG_TEST_RUN.
 *
 * The verdict compared per packet (see support/expected-verdict.ts): the TC action, and the event the
 * program emits for a drop (deny: the rule; divert: the rule and its tproxy port, since nothing
 * listens and bpf_sk_assign is refused under a test run; no rule), and for a pass the hit counter of
 * the expected rule; after each round every rule's hit counter is compared with the packets the
 * matcher gave it.
 *
 * Seeds: random per run, printed with any failure; TCTP_DIFFERENTIAL_SEED=<seed> repeats a run (a
 * failure names the seed of its round, which repeats that round first). A failure is reported with
 * the packet, the expected and observed verdicts, the rules matching the packet, and the rule set
 * shrunk to a few rules that still fail.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, Program, TypedMap, codecs, probeFeature, tcxPrograms, withNetns } from '@bpfsteer/core-bpf';
import { NetLab, netlinkTcPrograms } from '@bpfsteer/netlab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatEndpoint } from '../src/key-prefix.js';
import { MAP, counterCodec, dstKeyCodec, dstValueCodec, hostKeyCodec, portKeyCodec, portValueCodec, type DstValue } from '../src/map-codecs.js';
import { startTproxyDataplane } from '../src/open-tproxy-dataplane.js';
import type { TproxyDataplane } from '../src/tproxy-dataplane.js';
import type { TproxyEvent } from '@bpfsteer/contract-tproxy';
import { edgePacket, packetFrame, type EdgePacket } from './support/edge-packet.js';
import { RuleBuckets, describeExpected, describeObserved, expectedVerdict, type Verdict } from './support/expected-verdict.js';
import { randomRuleSet, type AttachedInterface, type DifferentialRule, type RuleSet } from './support/random-rule-set.js';
import { referenceWinner } from './support/rule-model.js';
import { SeededRandom, seedFromEnv } from './support/seeded-random.js';
import { shrinkRuleSet, type ShrinkResult } from './support/shrink-rule-set.js';

const SEED_ENV = 'TCTP_DIFFERENTIAL_SEED';
const ROUNDS = 3;
const RULES_PER_ROUND = 2500;
const PACKETS_PER_ROUND = 8000;
/** the tries are sized from it: room for the largest rule sets the generator draws (~300,000 port entries) */
const MAX_RULES = 32768;
/** mismatches listed per failing round (the first one is shrunk) */
const LISTED = 5;

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
/** the seed of round `k` of a run: the run's seed for the first, so that a round's seed repeats it as the first round */
const roundSeed = (seed: number, k: number) => (k === 0 ? seed : new SeededRandom((seed ^ Math.imul(k, 0x27d4eb2d)) >>> 0).u32());

/** A __sk_buff context up to and including ifindex (offset 40): the test run's skb->dev. (The kernel
 * writes the whole __sk_buff back: the output buffer must hold it.) */
function skbContext(ifindex: number): Uint8Array {
  const ctx = Buffer.alloc(44);
  ctx.writeUInt32LE(ifindex, 40);
  return ctx;
}

const SKB_CONTEXT: Record<number, Uint8Array> = {};

interface Mismatch {
  readonly packet: EdgePacket;
  readonly expected: Verdict;
  readonly want: string;
  readonly got: string;
}

describe('tctp_ingress agrees with the reference matcher on random rule sets (differential, BPF_PROG_TEST_RUN)', () => {
  const lab = NetLab.create('tctpd');
  const pinRoot = `/sys/fs/bpf/bpfsteer-test-tctpd-${process.pid}-${randomBytes(3).toString('hex')}`;
  let ns = '';
  let dp: TproxyDataplane | undefined;
  let program: Program | undefined;
  let hitsMap: BpfMap | undefined;
  let hits: TypedMap<number, Array<{ packets: bigint; bytes: bigint }>>;
  let attached: AttachedInterface[] = [];
  let foreign: AttachedInterface[] = [];
  const events: TproxyEvent[] = [];

  beforeAll(() => {
    ns = lab.addNetns('r');
    // no IPv6 on the lab's links: no neighbour discovery of their own reaches the programs
    lab.sysctl(ns, 'net.ipv6.conf.all.disable_ipv6', 1);
    lab.sysctl(ns, 'net.ipv6.conf.default.disable_ipv6', 1);
    // (names no `ip` keyword starts with: "dy" would be taken for "dynamic")
    lab.addVeth({ netns: ns, ifname: 'dif0' }, { netns: ns, ifname: 'dif1' });
    lab.addVeth({ netns: ns, ifname: 'dif2' }, { netns: ns, ifname: 'dif3' });
    attached = ['dif0', 'dif1'].map((name) => ({ name, ifindex: lab.ifIndex(ns, name) }));
    foreign = [{ name: 'dif2', ifindex: lab.ifIndex(ns, 'dif2') }];
    dp = startTproxyDataplane({
      interfaces: attached.map(({ name }) => ({ name, ssh: false, ipv6: true, events: { drops: true, diverts: true } })),
      netns: ns,
      pinRoot,
      maxRules: MAX_RULES,
      addressRefreshMs: 0,
    });
    dp.onEvent((e) => events.push(e));
    // the program the dataplane attached, and its (pinned) hit counters
    // on the tcx hook, or where the kernel has no tcx (< 6.6) in a netlink filter
    const onHook = probeFeature('tcx').supported ? tcxPrograms({ ifname: 'dif0', direction: 'ingress', netns: ns }) : netlinkTcPrograms(lab.nsPath(ns), 'dif0', 'ingress');
    expect(onHook.map((p) => p.name)).toEqual(['tctp_ingress']);
    program = Program.fromId(onHook[0].id);
    hitsMap = BpfMap.fromPinned(join(pinRoot, 'maps', MAP.ruleHits));
    hits = TypedMap.wrapPerCpu(hitsMap, codecs.u32, counterCodec);
  });

  afterAll(async () => {
    try {
      program?.close();
      hitsMap?.close();
      dp?.close({ keepPinned: false });
    } finally {
      try {
        if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true });
      } finally {
        await lab.destroy();
      }
    }
  });

  /** Points every trie entry and inline range of rule `from` at rule `to` (as a faulty compiler would); the entries changed. */
  function redirectRule(from: number, to: number): number {
    const open = (name: string) => BpfMap.fromPinned(join(pinRoot, 'maps', name));
    using port = open(MAP.port);
    using dst = open(MAP.dst);
    using host = open(MAP.dstHost);
    const ports = TypedMap.wrap(port, portKeyCodec, portValueCodec);
    let changed = 0;
    for (const [k, v] of [...ports.entries()]) {
      if (v.rule_id !== from) continue;
      ports.set(k, { rule_id: to });
      changed++;
    }
    for (const typed of [TypedMap.wrap(dst, dstKeyCodec, dstValueCodec), TypedMap.wrap(host, hostKeyCodec, dstValueCodec)] as const) {
      for (const [k, v] of [...(typed as TypedMap<unknown, DstValue>).entries()]) {
        if (!v.ranges.some((r, i) => i < v.nranges && r.rule_id === from)) continue;
        (typed as TypedMap<unknown, DstValue>).set(k, { ...v, ranges: v.ranges.map((r) => (r.rule_id === from ? { ...r, rule_id: to } : r)) });
        changed++;
      }
    }
    return changed;
  }

  const hitsOf = (id: number) => (hits.get(id) ?? []).reduce((n, c) => n + Number(c.packets), 0);

  /** Applies `rules` through the dataplane; their ids by rule name. */
  function apply(rules: readonly DifferentialRule[]): Map<string, number> {
    dp!.apply({ rules: rules.map((r) => r.intent) });
    const described = dp!.describeRules().rules;
    const ids = new Map(described.map((d) => [d.intent.service as string, d.id]));
    expect(described.length).toBe(rules.length);
    return ids;
  }

  /** Runs one packet through tctp_ingress (inside the lab netns) and compares with the matcher. */
  function check(packet: EdgePacket, buckets: RuleBuckets, ids: ReadonlyMap<string, number>): { expected: Verdict; mismatch?: Mismatch } {
    const expected = expectedVerdict(buckets, packet, attached.map((i) => i.ifindex));
    const idOf = (r: DifferentialRule) => ids.get(r.name);
    const passId = expected.kind === 'pass' ? idOf(expected.rule) : undefined;
    const before = passId === undefined ? 0 : hitsOf(passId);
    events.length = 0;
    const { returnValue } = program!.testRun({ data: packetFrame(packet), context: SKB_CONTEXT[packet.ifindex] ??= skbContext(packet.ifindex), contextOutSize: 1024 });
    dp!.pollEvents();
    const counted = expected.kind === 'pass' ? { ruleId: passId, moved: passId !== undefined && hitsOf(passId) === before + 1 } : undefined;
    const want = describeExpected(expected, idOf);
    const got = describeObserved({ returnValue, events: [...events], ...(counted ? { counted } : {}) });
    return want === got ? { expected } : { expected, mismatch: { packet, expected, want, got } };
  }

  const describePacket = (p: EdgePacket) => {
    const on = [...attached, ...foreign].find((i) => i.ifindex === p.ifindex)?.name ?? '?';
    return `${p.proto === 6 ? 'tcp' : 'udp'} ${formatEndpoint(p.family, p.src, p.sport)} -> ${formatEndpoint(p.family, p.dst, p.port)} on ${on} (ifindex ${p.ifindex})`;
  };
  const describeRule = (r: DifferentialRule, ids: ReadonlyMap<string, number>) => {
    const { kind: _kind, service: _service, ...fields } = r.intent;
    return `#${ids.get(r.name)} ${JSON.stringify(fields)}`;
  };
  /** The rules matching `p` on its interface, best first (the matcher's winner, again and again). */
  const matching = (rules: readonly DifferentialRule[], p: EdgePacket) => {
    const left = new RuleBuckets(rules).of(p).slice();
    const out: DifferentialRule[] = [];
    for (let w = referenceWinner(left, p, [p.ifindex]); w !== undefined; w = referenceWinner(left, p, [p.ifindex])) {
      out.push(w as DifferentialRule);
      left.splice(left.indexOf(w as DifferentialRule), 1);
    }
    return out;
  };

  /** The first mismatch again on a small rule set: re-applies subsets of the rules and reruns its packet. */
  function shrunk(rules: readonly DifferentialRule[], first: Mismatch): string {
    const p = first.packet;
    // each attempt from empty maps, as the rounds start
    const applyAlone = (subset: readonly DifferentialRule[]) => {
      apply([]);
      return apply(subset);
    };
    const stillFails = (subset: readonly DifferentialRule[]) => {
      const ids = applyAlone(subset);
      return withNetns(ns, () => check(p, new RuleBuckets(subset), ids)).mismatch !== undefined;
    };
    try {
      const sameKind = rules.filter((r) => r.family === p.family && r.proto === p.proto);
      const start = stillFails(sameKind) ? sameKind : stillFails(rules) ? rules : undefined;
      if (start === undefined) return '  (not shrunk: the packet passes when the rule set is applied again)';
      return shrinkReport(p, shrinkRuleSet(start, stillFails), applyAlone);
    } catch (err) {
      return `  (not shrunk: ${(err as Error).message})`;
    }
  }

  /** The shrunk rule set applied once more, with the packet's verdicts and the rules. */
  function shrinkReport(
    p: EdgePacket,
    { items, attempts, exhausted }: ShrinkResult<DifferentialRule>,
    applyAlone: (rules: readonly DifferentialRule[]) => Map<string, number>,
  ): string {
    const ids = applyAlone(items);
    const again = withNetns(ns, () => check(p, new RuleBuckets(items), ids)).mismatch;
    const lines = [`  shrunk to ${items.length} rules (${attempts} applies${exhausted ? ', budget exhausted' : ''}) that still fail:`];
    if (again) lines.push(`    expected: ${again.want}`, `    got:      ${again.got}`);
    for (const r of items.slice(0, 20)) lines.push(`    ${describeRule(r, ids)}`);
    if (items.length > 20) lines.push(`    ... and ${items.length - 20} more`);
    return lines.join('\n');
  }

  function report(head: string, rules: readonly DifferentialRule[], ids: ReadonlyMap<string, number>, mismatches: readonly Mismatch[], total: number): string {
    const lines = [`${head}: ${rules.length} rules, ${total} of ${PACKETS_PER_ROUND} packets differ.`];
    for (const m of mismatches.slice(0, LISTED)) {
      lines.push(`  packet:   ${describePacket(m.packet)}`, `  expected: ${m.want}`, `  got:      ${m.got}`);
      const all = matching(rules, m.packet);
      lines.push(`  rules matching it, best first (${all.length}):`);
      for (const r of all.slice(0, 6)) lines.push(`    ${describeRule(r, ids)}`);
    }
    return lines.join('\n');
  }

  interface RoundResult {
    readonly mismatches: Mismatch[];
    /** rules whose hit counter moved by other than the packets the matcher gave them */
    readonly wrongCounts: string[];
  }

  /**
   * Sends `count` packets aimed at `aim` (default: the whole rule set) through the program and
   * compares each with the matcher's verdict over `set`; then every rule's hit counter.
   */
  function runPackets(set: RuleSet, ids: ReadonlyMap<string, number>, rng: SeededRandom, count: number, seen: Record<string, number>, aim: RuleSet = set): RoundResult {
    const buckets = new RuleBuckets(set.rules);
    const base = new Map(dp!.describeRules().rules.map((d) => [d.id, d.packets]));
    const expectedHits = new Map<number, number>();
    const mismatches: Mismatch[] = [];
    withNetns(ns, () => {
      for (let i = 0; i < count; i++) {
        const packet = edgePacket(rng, aim, { attached, foreign });
        const { expected, mismatch } = check(packet, buckets, ids);
        if (mismatch) mismatches.push(mismatch);
        const kind = `${expected.kind}/v${packet.family}`;
        seen[kind] = (seen[kind] ?? 0) + 1;
        if ('rule' in expected) {
          const id = ids.get(expected.rule.name)!;
          expectedHits.set(id, (expectedHits.get(id) ?? 0) + 1);
        }
      }
    });
    const wrongCounts: string[] = [];
    for (const d of dp!.describeRules().rules) {
      const got = d.packets - (base.get(d.id) ?? 0);
      const want = expectedHits.get(d.id) ?? 0;
      if (got !== want) wrongCounts.push(`rule #${d.id} ${JSON.stringify(d.intent)}: counted ${got} packets, expected ${want}`);
    }
    return { mismatches, wrongCounts };
  }

  it(`${ROUNDS} rounds of ${RULES_PER_ROUND} random rules and ${PACKETS_PER_ROUND} edge packets`, () => {
    const { seed, fixed } = seedFromEnv(SEED_ENV);
    const seen: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const rs = roundSeed(seed, round);
      const head = `seed ${hex(seed)}${fixed ? ` (from ${SEED_ENV})` : ''}, round ${round + 1} of ${ROUNDS} (its seed ${hex(rs)}: ${SEED_ENV}=${hex(rs)} repeats it first)`;
      const rng = new SeededRandom(rs);
      const set = randomRuleSet(rng, { count: RULES_PER_ROUND, interfaces: attached });
      let result: RoundResult;
      let ids: Map<string, number>;
      try {
        // each round from empty maps: an apply writes the new entries before it deletes the old
        // ones, so two large rule sets in one go can need the tries' room twice over
        apply([]);
        ids = apply(set.rules);
        result = runPackets(set, ids, rng, PACKETS_PER_ROUND, seen);
      } catch (err) {
        throw new Error(`${head}: ${set.rules.length} rules: ${(err as Error).message}`, { cause: err });
      }
      const { mismatches, wrongCounts } = result;
      if (mismatches.length > 0) {
        const text = report(head, set.rules, ids, mismatches, mismatches.length);
        throw new Error(`${text}\n${shrunk(set.rules, mismatches[0])}`);
      }
      if (wrongCounts.length > 0) throw new Error(`${head}: hit counters differ from the matcher for ${wrongCounts.length} rules:\n  ${wrongCounts.slice(0, 10).join('\n  ')}`);
    }
    // the packets exercised every kind of verdict, in both families
    for (const kind of ['divert', 'pass', 'deny', 'no-rule', 'not-attached']) {
      for (const family of [4, 6]) expect(seen[`${kind}/v${family}`] ?? 0, `${kind} verdicts for IPv${family} (seed ${hex(seed)})`).toBeGreaterThan(ROUNDS * 20);
    }
  }, 300_000);

  it('notices a pass verdict given by the wrong pass rule (only the hit counters tell them apart)', () => {
    // the check itself: two pass rules of one destination node, then the node's lookups for the
    // first one redirected to the second behind the planner's back
    const rng = new SeededRandom(0x5eed); // fixed: the same rules every time
    const set = randomRuleSet(rng, { count: 300, interfaces: attached });
    apply([]);
    const ids = apply(set.rules);
    const pass = set.rules.filter((r) => r.action === 2 && r.ifindexes === undefined);
    // the first pass rule that wins somewhere (has entries), redirected to another one
    const b = pass[pass.length - 1];
    const idB = ids.get(b.name)!;
    const a = pass.find((r) => r !== b && redirectRule(ids.get(r.name)!, idB) > 0)!;
    expect(a).toBeDefined();
    const idA = ids.get(a.name)!;
    const { mismatches, wrongCounts } = runPackets(set, ids, rng, 400, {}, { rules: [a], pools: set.pools });
    expect(mismatches.length).toBeGreaterThan(0);
    for (const m of mismatches) {
      expect(m.want).toBe(`TC_ACT_OK, no event, rule ${idA} counted`);
      expect(m.got).toBe(`TC_ACT_OK, no event, rule ${idA} not counted`);
    }
    expect(wrongCounts.some((w) => w.startsWith(`rule #${idA} `))).toBe(true);
    expect(wrongCounts.some((w) => w.startsWith(`rule #${idB} `))).toBe(true);
    apply([]);
  });
});
