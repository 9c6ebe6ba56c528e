/**
 * Test support, written independently of the compiler: a brute-force reference matcher over the
 * rules, and a model of the four rule maps that looks packets up the way the BPF program does
 * (three LPM lookups, longest prefix wins, then the rule slot; or the port intervals of an inline
 * dst value), with the kernel's map operations.
 */
import type { ApplyPlan, DstNodeValue, PlanRule } from '../../src/apply-plan.js';
import type { DstKey, DstValue, PortKey, RuleValue, SrcKey } from '../../src/map-codecs.js';

const INLINE_RANGES = 4; // TCTP_INLINE_RANGES

/** A plan's dst value as the map stores it (struct tctp_dst_value). */
export function dstValueOf(v: DstNodeValue): DstValue {
  if (v.ranges.length > INLINE_RANGES) throw new Error(`a dst value with ${v.ranges.length} ranges`);
  const ranges = Array.from({ length: INLINE_RANGES }, (_, i) =>
    i < v.ranges.length ? { low: v.ranges[i].low, high: v.ranges[i].high, rule_id: v.ranges[i].ruleId } : { low: 0, high: 0, rule_id: 0 },
  );
  return { id: v.id, nranges: v.ranges.length, ranges };
}

export interface Packet {
  readonly ifindex: number;
  readonly family: 4 | 6;
  readonly proto: number;
  /** 16 bytes, IPv4 in 0..3 */
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly port: number;
}

function bitAt(bytes: Uint8Array, i: number): number {
  return (bytes[i >> 3] >> (7 - (i & 7))) & 1;
}

/** Whether the first `len` bits of a and b agree, bit by bit (deliberately naive). */
export function samePrefix(a: Uint8Array, b: Uint8Array, len: number): boolean {
  for (let i = 0; i < len; i++) if (bitAt(a, i) !== bitAt(b, i)) return false;
  return true;
}

/** The winning rule of `rules` for `packet` by the documented precedence, or undefined. */
export function referenceWinner(rules: readonly PlanRule[], packet: Packet, attached: readonly number[]): PlanRule | undefined {
  const matching = rules.filter(
    (r) =>
      attached.includes(packet.ifindex) &&
      (r.ifindexes === undefined || r.ifindexes.includes(packet.ifindex)) &&
      r.family === packet.family &&
      r.proto === packet.proto &&
      samePrefix(r.destination.bytes, packet.dst, r.destination.length) &&
      samePrefix(r.source.bytes, packet.src, r.source.length) &&
      r.low <= packet.port &&
      packet.port <= r.high,
  );
  const DENY = 3;
  const score = (r: PlanRule) => [-r.destination.length, -r.source.length, r.high - r.low, r.action === DENY ? 0 : 1, r.low];
  matching.sort((a, b) => {
    const x = score(a);
    const y = score(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return 0;
  });
  return matching[0];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The rule maps, as the kernel would hold them. */
export class MapModel {
  readonly dst = new Map<string, { key: DstKey; id: number; value: DstValue }>();
  readonly src = new Map<string, { key: SrcKey; id: number }>();
  readonly port = new Map<string, { key: PortKey; ruleId: number }>();
  readonly rules = new Map<number, RuleValue>();

  static dstId(k: DstKey) {
    return `${k.prefixlen}|${k.ifindex}|${k.family}|${k.proto}|${hex(k.addr)}`;
  }
  static srcId(k: SrcKey) {
    return `${k.prefixlen}|${k.dst_id}|${hex(k.addr)}`;
  }
  static portId(k: PortKey) {
    return `${k.prefixlen}|${k.src_id}|${k.port_be}`;
  }

  /** Every single map operation of `plan`, in the order the dataplane runs them. */
  *operations(plan: ApplyPlan): Generator<() => void> {
    for (const [id, v] of plan.ruleWrites) yield () => this.rules.set(id, v);
    for (const [k, v] of plan.portWrites) yield () => this.port.set(MapModel.portId(k), { key: k, ruleId: v });
    for (const [k, v] of plan.srcWrites) yield () => this.src.set(MapModel.srcId(k), { key: k, id: v });
    for (const [k, v] of plan.dstWrites) yield () => this.dst.set(MapModel.dstId(k), { key: k, id: v.id, value: dstValueOf(v) });
    for (const k of plan.dstDeletes) yield () => this.dst.delete(MapModel.dstId(k));
    for (const k of plan.srcDeletes) yield () => this.src.delete(MapModel.srcId(k));
    for (const k of plan.portDeletes) yield () => this.port.delete(MapModel.portId(k));
    for (const id of plan.ruleClears) yield () => this.rules.delete(id);
  }

  apply(plan: ApplyPlan): void {
    for (const op of this.operations(plan)) op();
  }

  /**
   * What the program finds for `p`: rule id (its slot non-empty), 0 for no rule, -1 for a path that
   * ends in an empty rule slot (a half-built path).
   */
  lookup(p: Packet): number {
    const af = p.family === 4 ? 2 : 10;
    let dst: { key: DstKey; id: number; value: DstValue } | undefined;
    for (const e of this.dst.values()) {
      const k = e.key;
      if (k.ifindex !== p.ifindex || k.family !== af || k.proto !== p.proto) continue;
      if (!samePrefix(k.addr, p.dst, k.prefixlen - 64)) continue;
      if (!dst || k.prefixlen > dst.key.prefixlen) dst = e;
    }
    if (!dst) return 0;
    let ruleId = 0;
    if (dst.value.nranges > 0) {
      for (let i = 0; i < dst.value.nranges; i++) {
        const r = dst.value.ranges[i];
        if (r.low <= p.port && p.port <= r.high) ruleId = r.rule_id;
      }
    } else {
      ruleId = this.#throughTries(dst.id, p);
    }
    if (ruleId === 0) return 0;
    const slot = this.rules.get(ruleId);
    return slot && slot.action !== 0 ? ruleId : -1;
  }

  /** The rule id the src and port tries give under dst node `dstId`, 0 for none. */
  #throughTries(dstId: number, p: Packet): number {
    let src: { key: SrcKey; id: number } | undefined;
    for (const e of this.src.values()) {
      if (e.key.dst_id !== dstId || !samePrefix(e.key.addr, p.src, e.key.prefixlen - 32)) continue;
      if (!src || e.key.prefixlen > src.key.prefixlen) src = e;
    }
    if (!src) return 0;
    let hit: { key: PortKey; ruleId: number } | undefined;
    for (const e of this.port.values()) {
      const bits = e.key.prefixlen - 32;
      if (e.key.src_id !== src.id || e.key.port_be >>> (16 - bits) !== p.port >>> (16 - bits)) continue;
      if (!hit || e.key.prefixlen > hit.key.prefixlen) hit = e;
    }
    return hit ? hit.ruleId : 0;
  }
}

/** The model's entries as the map codecs hold them (key, value), map by map: for comparing with packed writes and kernel reads. */
export function kernelOf(model: MapModel) {
  return {
    dst: [...model.dst.values()].map((e) => [e.key, e.value] as const),
    src: [...model.src.values()].map((e) => [e.key, e.id] as const),
    port: [...model.port.values()].map((e) => [e.key, e.ruleId] as const),
    rules: [...model.rules].map(([id, v]) => [id, v] as const),
  };
}

/**
 * What the maps hold with the ids resolved, as sorted lines "dst key / src prefix / port block ->
 * rule slot" (a rule slot written as "identity hash:action:tproxy port"): equal for two maps that
 * answer every packet alike through the same paths, whatever node and rule ids they use. Entries
 * no lookup can reach (an src entry under no dst node, a port entry under no src entry, a rule id
 * without a slot) are listed as "orphan ..." lines.
 */
export function kernelDump(model: MapModel): string[] {
  const srcOf = new Map<number, Array<{ key: SrcKey; id: number }>>();
  for (const e of model.src.values()) {
    const list = srcOf.get(e.key.dst_id);
    if (list) list.push(e);
    else srcOf.set(e.key.dst_id, [e]);
  }
  const portOf = new Map<number, Array<{ key: PortKey; ruleId: number }>>();
  for (const e of model.port.values()) {
    const list = portOf.get(e.key.src_id);
    if (list) list.push(e);
    else portOf.set(e.key.src_id, [e]);
  }
  const slot = (id: number) => {
    const v = model.rules.get(id);
    return v === undefined || v.action === 0 ? `orphan rule id ${id}` : `${v.identity}:${v.action}:${v.tproxy_port_be}`;
  };
  const out: string[] = [];
  const reachedSrc = new Set<number>();
  const dstIds = new Set<number>();
  for (const d of model.dst.values()) {
    const dk = `${d.key.prefixlen}|${d.key.ifindex}|${d.key.family}|${d.key.proto}|${hex(d.key.addr)}`;
    if (d.value.nranges > 0) {
      for (const r of d.value.ranges.slice(0, d.value.nranges)) out.push(`${dk} / inline ${r.low}-${r.high} -> ${slot(r.rule_id)}`);
      continue;
    }
    dstIds.add(d.id); // (src entries under an inline node's id are orphans: no lookup reaches them)
    const srcs = srcOf.get(d.id) ?? [];
    if (srcs.length === 0) out.push(`${dk} / (no src entry)`);
    for (const s of srcs) {
      reachedSrc.add(s.id);
      const sk = `${s.key.prefixlen}|${hex(s.key.addr)}`;
      const ports = portOf.get(s.id) ?? [];
      if (ports.length === 0) out.push(`${dk} / ${sk} / (no port entry)`);
      for (const p of ports) out.push(`${dk} / ${sk} / ${p.key.prefixlen}|${p.key.port_be} -> ${slot(p.ruleId)}`);
    }
  }
  for (const [id, list] of portOf) if (!reachedSrc.has(id)) for (const p of list) out.push(`orphan port ${MapModel.portId(p.key)}`);
  for (const e of model.src.values()) if (!dstIds.has(e.key.dst_id)) out.push(`orphan src ${MapModel.srcId(e.key)}`);
  return out.sort();
}
