/**
 * Re-adoption of what pinned maps hold, including what a crash or another writer could have left:
 * unreachable entries are strays to delete, inconsistent nodes are rewritten by the first apply,
 * and after that apply the maps answer exactly like freshly written ones.
 */
import { describe, expect, it } from 'vitest';
import { planApply, planSize, type PlanRule } from '../src/apply-plan.js';
import { parseKeyPrefix, type Prefix } from '../src/key-prefix.js';
import { ruleIdentity } from '../src/rule-identity.js';
import { adoptTries } from '../src/trie-adoption.js';
import { emptyTrieState } from '../src/trie-state.js';
import { MapModel, kernelOf, dstValueOf, referenceWinner, type Packet } from './support/rule-model.js';

const P = (t: string): Prefix => {
  const p = parseKeyPrefix(t);
  if (!p.ok) throw p.error;
  return p.prefix;
};
const rule = (dst: string, low: number, high: number, action = 1, src = '0.0.0.0/0'): PlanRule => ({
  identity: ruleIdentity(P(dst).text, src, 'tcp', low, high),
  family: 4,
  proto: 6,
  destination: P(dst),
  source: P(src),
  low,
  high,
  action,
  tproxyPort: action === 1 ? 4000 : 0,
});
// the first three nodes are inline (any source, few intervals), 10.0.2.0/24 has src and port entries
const RULES = [rule('10.0.0.0/24', 80, 80), rule('10.0.0.7/32', 80, 90, 3), rule('10.0.1.0/24', 443, 443, 2), rule('10.0.2.0/24', 80, 80, 2, '1.1.0.0/16')];
const IFS = [4];

function packet(dst: string, port: number): Packet {
  const d = new Uint8Array(16);
  d.set(dst.split('.').map(Number));
  return { ifindex: 4, family: 4, proto: 6, dst: d, src: new Uint8Array(16).fill(1, 0, 4), port };
}
const PACKETS = [packet('10.0.0.1', 80), packet('10.0.0.7', 80), packet('10.0.0.7', 85), packet('10.0.1.9', 443), packet('10.0.2.1', 80)];

function written(): MapModel {
  const model = new MapModel();
  model.apply(planApply(emptyTrieState(100), { rules: RULES, ifindexes: IFS }).plan);
  return model;
}

function expectAnswersLikeFresh(model: MapModel, ids: readonly number[]) {
  for (const p of PACKETS) {
    const w = referenceWinner(RULES, p, IFS);
    expect(model.lookup(p)).toBe(w === undefined ? 0 : ids[RULES.indexOf(w)]);
  }
}

describe('adoptTries', () => {
  it('finds every id again and needs no write for the same rules', () => {
    const model = written();
    const { state, straySrc, strayPort } = adoptTries(kernelOf(model), 100);
    expect(straySrc).toEqual([]);
    expect(strayPort).toEqual([]);
    const re = planApply(state, { rules: RULES, ifindexes: IFS });
    expect(planSize(re.plan)).toEqual({ written: 0, deleted: 0 });
    expect(state.dstEntries).toBe(model.dst.size);
    expect(state.srcEntries).toBe(model.src.size);
    expect(state.portEntries).toBe(model.port.size);
  });

  it('returns unreachable and malformed src and port entries as strays', () => {
    const model = written();
    const k = kernelOf(model);
    const orphanSrc = { prefixlen: 32, dst_id: 999, addr: new Uint8Array(16) };
    const orphanPort = { prefixlen: 48, src_id: 999, port_be: 80 };
    const misaligned = { prefixlen: 40, src_id: k.src[0][1], port_be: 81 };
    const { straySrc, strayPort } = adoptTries({ ...k, src: [...k.src, [orphanSrc, 5]], port: [...k.port, [orphanPort, 1], [misaligned, 1]] }, 100);
    expect(straySrc).toEqual([orphanSrc]);
    expect(strayPort).toEqual([orphanPort, misaligned]);
  });

  it('rewrites inconsistent nodes and deletes malformed dst keys at the first apply', () => {
    const model = written();
    // a second dst key sharing the node id of 10.0.0.0/24, and a dst key of an unknown family
    const shared = [...model.dst.values()].find((e) => e.key.prefixlen === 64 + 24 && e.key.addr[2] === 0)!;
    const alias = { ...shared.key, prefixlen: 64 + 25, addr: Uint8Array.from([10, 0, 0, 128, ...new Array(12).fill(0)]) };
    const bogus = { ...shared.key, family: 7 };
    model.dst.set(MapModel.dstId(alias), { ...shared, key: alias });
    model.dst.set(MapModel.dstId(bogus), { key: bogus, id: 77, value: dstValueOf({ id: 77, ranges: [] }) });
    const { state } = adoptTries(kernelOf(model), 100);
    const re = planApply(state, { rules: RULES, ifindexes: IFS });
    expect(re.plan.dstWrites.map(([k]) => k.prefixlen)).toEqual([64 + 24]); // the node that shared its id: rewritten
    expect(re.plan.dstDeletes).toEqual(expect.arrayContaining([bogus, alias]));
    model.apply(re.plan);
    expectAnswersLikeFresh(model, re.ids);
    expect(model.dst.size).toBe(4);
    expect(planSize(planApply(re.next, { rules: RULES, ifindexes: IFS }).plan)).toEqual({ written: 0, deleted: 0 });
  });

  it('rewrites inline values the compiler would not write, and deletes src entries under inline nodes', () => {
    const model = written();
    const inline = [...model.dst.values()].filter((e) => e.value.nranges > 0);
    expect(inline.length).toBe(3);
    const [a, b, c] = inline;
    const r = a.value.ranges[0];
    // overlapping ranges; more ranges than a value holds; a src entry under an inline node's id
    model.dst.set(MapModel.dstId(a.key), { ...a, value: { ...a.value, nranges: 2, ranges: [r, { ...r }, ...a.value.ranges.slice(2)] } });
    model.dst.set(MapModel.dstId(b.key), { ...b, value: { ...b.value, nranges: 5 } });
    const under = { prefixlen: 32, dst_id: c.id, addr: new Uint8Array(16) };
    const k = kernelOf(model);
    const { state, straySrc } = adoptTries({ ...k, src: [...k.src, [under, 7]] }, 100);
    expect(straySrc).toEqual([under]);
    const re = planApply(state, { rules: RULES, ifindexes: IFS });
    expect(re.plan.dstWrites.map(([key]) => MapModel.dstId(key)).sort()).toEqual([MapModel.dstId(a.key), MapModel.dstId(b.key)].sort());
    model.apply(re.plan);
    expectAnswersLikeFresh(model, re.ids);
    expect(planSize(planApply(re.next, { rules: RULES, ifindexes: IFS }).plan)).toEqual({ written: 0, deleted: 0 });
  });

  it('adopts rule ids by identity hash and clears slots nothing desires', () => {
    const model = written();
    const ids = planApply(emptyTrieState(100), { rules: RULES, ifindexes: IFS }).ids;
    model.rules.set(50, { action: 2, tproxy_port_be: 0, identity: 12345n }); // a stray slot
    const { state } = adoptTries(kernelOf(model), 100);
    expect([...state.adoptable.values()].sort()).toEqual([...ids, 50].sort());
    const re = planApply(state, { rules: RULES.slice(0, 2), ifindexes: IFS });
    expect(re.ids).toEqual(ids.slice(0, 2));
    expect(re.plan.ruleClears).toEqual([ids[2], ids[3], 50].sort((a, b) => a - b));
    model.apply(re.plan);
    expect(model.lookup(packet('10.0.1.9', 443))).toBe(0);
  });
});
