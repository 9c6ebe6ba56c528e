/**
 * The tc_tproxy datapath (bpf/build/tc_tproxy.bpf.o) on its own, with map entries written by hand
 * (keys computed here for a few rules, no rule compiler):
 * - BPF_PROG_TEST_RUN of tctp_ingress with frames whose __sk_buff ifindex is a real veth in a lab
 *   netns: each step of the per-packet algorithm (tc_tproxy.h), counters, connection tracking, events;
 * - real TCP/UDP through a client -> router lab with tctp_ingress/tctp_egress attached on the router's
 *   client-facing veth: diverts to the ziti-like tproxy listener, drops, SSH, replies of forwarded
 *   flows recorded by tctp_egress.
 */
import { BpfObject, type Link, RingBuffer, TypedMap, attachTc, codecs, withNetns } from '@bpfsteer/core-bpf';
import { formatIp, parseIp } from '@bpfsteer/ip';
import { NetLab, ipv4Frame, ipv6Frame, type Listener, monotonicNsAgo, startZitiListener, type ZitiListener } from '@bpfsteer/netlab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const OBJECT = new URL('../../../bpf/build/tc_tproxy.bpf.o', import.meta.url).pathname;

// tc_tproxy.h constants
const AF_INET = 2;
const AF_INET6 = 10;
const TCP = 6;
const UDP = 17;
const ACTION = { divert: 1, pass: 2, deny: 3 } as const;
const IF = { ssh: 1, echo: 2, ipv6: 4, eventsDrop: 8, eventsDivert: 16 } as const;
const CT_FIN_OUT = 1;
const CT_FIN_IN = 2;
const DST_FIXED_BITS = 64;
const SRC_FIXED_BITS = 32;
const PORT_FIXED_BITS = 32;
const TCP_IDLE_NS = 3600n * 1_000_000_000n;

const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

// codecs of the header's structs (checked against the object's BTF by TypedMap.wrap)
const { u8, u16, u32, u64, be16, pad, bytes, struct, array } = codecs;
const dstKeyCodec = struct({ prefixlen: u32, ifindex: u32, family: u8, proto: u8, pad: pad(2), addr: bytes(16) });
const srcKeyCodec = struct({ prefixlen: u32, dst_id: u32, addr: bytes(16) });
const nodeCodec = struct({ id: u32 });
const INLINE_RANGES = 4;
const portRangeCodec = struct({ low: u16, high: u16, rule_id: u32 });
const hostKeyCodec = struct({ ifindex: u32, family: u8, proto: u8, pad: pad(2), addr: bytes(16) });
const dstValueCodec = struct({ id: u32, nranges: u32, ranges: array(portRangeCodec, INLINE_RANGES) });
const NO_RANGES = Array.from({ length: INLINE_RANGES }, () => ({ low: 0, high: 0, rule_id: 0 }));
const portKeyCodec = struct({ prefixlen: u32, src_id: u32, port_be: be16, pad: pad(2) });
const portValueCodec = struct({ rule_id: u32 });
const ruleCodec = struct({ action: u8, pad: pad(1), tproxy_port_be: be16, pad2: pad(4), identity: u64 });
const counterCodec = struct({ packets: u64, bytes: u64 });
const ifaceCodec = struct({ flags: u32, pad: pad(4) });
const ifAddrKeyCodec = struct({ ifindex: u32, family: u8, pad: pad(3), addr: bytes(16) });
const ifStatsCodec = struct({ passed: u64, diverted: u64, dropped: u64, events_lost: u64 });
const ctKeyCodec = struct({
  ifindex: u32,
  family: u8,
  pad: pad(1),
  sport_be: be16,
  dport_be: be16,
  pad2: pad(2),
  saddr: bytes(16),
  daddr: bytes(16),
});
const ctValueCodec = struct({ last_seen_ns: u64, flags: u32, pad: pad(4) });
const eventCodec = struct({
  ts_ns: u64,
  ifindex: u32,
  rule_id: u32,
  kind: u8,
  reason: u8,
  family: u8,
  proto: u8,
  sport_be: be16,
  dport_be: be16,
  tproxy_port_be: be16,
  pad: pad(6),
  saddr: bytes(16),
  daddr: bytes(16),
});
const EV = { drop: 1, divert: 2 } as const;
const REASON = { rule: 0, noRule: 1, denyRule: 2, noListener: 3, ipv6Off: 4, unparsed: 5, notIp: 6, icmp: 7, proto: 8 } as const;

/** A decoded event, addresses and ports as text ("10.0.0.2:80", "[fd00::2]:80") */
interface Event {
  time: bigint;
  ifindex: number;
  ruleId: number;
  kind: number;
  reason: number;
  family: number;
  proto: number;
  source: string;
  destination: string;
  tproxyPort: number;
}

function decodeEvent(record: Uint8Array): Event {
  expect(eventCodec.size).toBe(64);
  expect(record.length).toBe(eventCodec.size);
  const e = eventCodec.decode(Buffer.from(record.buffer, record.byteOffset, record.length), 0);
  const text = (a: Uint8Array, port: number) =>
    e.family === AF_INET ? `${formatIp(a.subarray(0, 4))}:${port}` : e.family === AF_INET6 ? `[${formatIp(a)}]:${port}` : '';
  return {
    time: e.ts_ns,
    ifindex: e.ifindex,
    ruleId: e.rule_id,
    kind: e.kind,
    reason: e.reason,
    family: e.family,
    proto: e.proto,
    source: text(e.saddr, e.sport_be),
    destination: text(e.daddr, e.dport_be),
    tproxyPort: e.tproxy_port_be,
  };
}

type Stats = { passed: number; diverted: number; dropped: number; eventsLost: number };
type CtKey = { ifindex: number; family: number; sport_be: number; dport_be: number; saddr: Uint8Array; daddr: Uint8Array };

/** 16 address bytes (IPv4 in the first 4) and the family, from text */
function addr(text: string): { family: number; bytes: Uint8Array; raw: Uint8Array } {
  const a = parseIp(text);
  const out = new Uint8Array(16);
  out.set(a.bytes);
  return { family: a.family === 4 ? AF_INET : AF_INET6, bytes: out, raw: a.bytes };
}

/**
 * A rule written by hand: a dst node and a src node (shared by rules of the same prefixes) and one
 * exact-port entry. Unlike the real compiler, a longer prefix's node does not also hold the rules of
 * the shorter ones: the tests pick their addresses accordingly.
 */
interface HandRule {
  readonly ifindex: number;
  readonly proto: number;
  readonly dst: string; // CIDR
  readonly src?: string; // CIDR, default any
  readonly port: number;
  readonly action: keyof typeof ACTION;
  readonly tproxyPort?: number;
}

/** The object, loaded, with typed views of its maps and helpers to fill them by hand. */
class Datapath {
  readonly obj: BpfObject;
  readonly dst;
  readonly dstHost;
  readonly src;
  readonly port;
  readonly rules;
  readonly hits;
  readonly ifaces;
  readonly ifAddrs;
  readonly ifStats;
  readonly ctTcp;
  readonly ctUdp;
  #nextDst = 1;
  #nextSrc = 1;
  #nextRule = 1;
  readonly #dstIds = new Map<string, number>();
  readonly #srcIds = new Map<string, number>();

  constructor(eventBytes?: number) {
    this.obj = BpfObject.open(OBJECT);
    try {
      this.obj.load(eventBytes === undefined ? {} : { maps: { tctp_events: { maxEntries: eventBytes } } });
      const m = (name: string) => this.obj.map(name);
      this.dst = TypedMap.wrap(m('tctp_dst'), dstKeyCodec, dstValueCodec);
      this.dstHost = TypedMap.wrap(m('tctp_dst_host'), hostKeyCodec, dstValueCodec);
      this.src = TypedMap.wrap(m('tctp_src'), srcKeyCodec, nodeCodec);
      this.port = TypedMap.wrap(m('tctp_port'), portKeyCodec, portValueCodec);
      this.rules = TypedMap.wrap(m('tctp_rules'), u32, ruleCodec);
      this.hits = TypedMap.wrapPerCpu(m('tctp_rule_hits'), u32, counterCodec);
      this.ifaces = TypedMap.wrap(m('tctp_ifaces'), u32, ifaceCodec);
      this.ifAddrs = TypedMap.wrap(m('tctp_if_addrs'), ifAddrKeyCodec, u32);
      this.ifStats = TypedMap.wrapPerCpu(m('tctp_if_stats'), u32, ifStatsCodec);
      this.ctTcp = TypedMap.wrap(m('tctp_ct_tcp'), ctKeyCodec, ctValueCodec);
      this.ctUdp = TypedMap.wrap(m('tctp_ct_udp'), ctKeyCodec, ctValueCodec);
    } catch (err) {
      this.obj.close();
      throw err;
    }
  }

  get ingress() {
    return this.obj.program('tctp_ingress');
  }
  get egress() {
    return this.obj.program('tctp_egress');
  }

  /** interface settings and a zeroed stats entry (user space creates those) */
  setIface(ifindex: number, flags: number, addresses: readonly string[] = []): void {
    this.ifaces.set(ifindex, { flags });
    if (!this.ifStats.has(ifindex)) {
      const zero = { passed: 0n, diverted: 0n, dropped: 0n, events_lost: 0n };
      this.ifStats.set(ifindex, Array.from({ length: this.ifStats.map.cpuSlots }, () => zero));
    }
    for (const a of addresses) {
      const { family, bytes } = addr(a);
      this.ifAddrs.set({ ifindex, family, addr: bytes }, 1);
    }
  }

  stats(ifindex: number): Stats {
    const s = { passed: 0, diverted: 0, dropped: 0, eventsLost: 0 };
    for (const c of this.ifStats.get(ifindex) ?? []) {
      s.passed += Number(c.passed);
      s.diverted += Number(c.diverted);
      s.dropped += Number(c.dropped);
      s.eventsLost += Number(c.events_lost);
    }
    return s;
  }

  ruleHits(id: number): { packets: number; bytes: number } {
    const all = this.hits.get(id) ?? [];
    return all.reduce((a, c) => ({ packets: a.packets + Number(c.packets), bytes: a.bytes + Number(c.bytes) }), { packets: 0, bytes: 0 });
  }

  /** Writes one rule's entries; rules sharing (ifindex, proto, dst) share the dst node, and so on. Returns the rule id. */
  addRule(r: HandRule): number {
    const [dstText, dstLen] = r.dst.split('/');
    const d = addr(dstText);
    const any = d.family === AF_INET ? '0.0.0.0/0' : '::/0';
    const [srcText, srcLen] = (r.src ?? any).split('/');
    const dstName = `${r.ifindex} ${r.proto} ${r.dst}`;
    let dstId = this.#dstIds.get(dstName);
    if (dstId === undefined) {
      dstId = this.#nextDst++;
      this.#dstIds.set(dstName, dstId);
      this.dst.set({ prefixlen: DST_FIXED_BITS + Number(dstLen), ifindex: r.ifindex, family: d.family, proto: r.proto, addr: d.bytes }, { id: dstId, nranges: 0, ranges: NO_RANGES });
    }
    const srcName = `${dstId} ${r.src ?? any}`;
    let srcId = this.#srcIds.get(srcName);
    if (srcId === undefined) {
      srcId = this.#nextSrc++;
      this.#srcIds.set(srcName, srcId);
      this.src.set({ prefixlen: SRC_FIXED_BITS + Number(srcLen), dst_id: dstId, addr: addr(srcText).bytes }, { id: srcId });
    }
    const id = this.#nextRule++;
    this.rules.set(id, { action: ACTION[r.action], tproxy_port_be: r.tproxyPort ?? 0, identity: BigInt(id) * 1000n });
    this.port.set({ prefixlen: PORT_FIXED_BITS + 16, src_id: srcId, port_be: r.port }, { rule_id: id });
    return id;
  }

  /** Writes an inline dst node (no src or port entries): its port intervals, each with a rule. Returns their rule ids. */
  addInline(r: { ifindex: number; proto: number; dst: string; host?: boolean; ranges: Array<{ low: number; high: number; action: HandRule['action']; tproxyPort?: number }> }): number[] {
    const [dstText, dstLen] = r.dst.split('/');
    const d = addr(dstText);
    const ids = r.ranges.map((x) => {
      const id = this.#nextRule++;
      this.rules.set(id, { action: ACTION[x.action], tproxy_port_be: x.tproxyPort ?? 0, identity: BigInt(id) * 1000n });
      return id;
    });
    const ranges = NO_RANGES.map((zero, i) => (i < r.ranges.length ? { low: r.ranges[i].low, high: r.ranges[i].high, rule_id: ids[i] } : zero));
    const value = { id: this.#nextDst++, nranges: r.ranges.length, ranges };
    if (r.host) this.dstHost.set({ ifindex: r.ifindex, family: d.family, proto: r.proto, addr: d.bytes }, value);
    else this.dst.set({ prefixlen: DST_FIXED_BITS + Number(dstLen), ifindex: r.ifindex, family: d.family, proto: r.proto, addr: d.bytes }, value);
    return ids;
  }

  close(): void {
    this.obj.close();
  }
}

/** A __sk_buff context up to and including ifindex (offset 40); the rest is zero. */
function skbContext(ifindex: number): Uint8Array {
  const ctx = Buffer.alloc(44);
  ctx.writeUInt32LE(ifindex, 40);
  return ctx;
}

function ethernet(ethertype: number, length = 60): Uint8Array {
  const f = Buffer.alloc(length);
  f.writeUInt16BE(ethertype, 12);
  return f;
}

/** polls `probe` for up to 2 s until it returns something; fails with `describe()` otherwise */
async function eventually<T>(probe: () => T | undefined, describe: () => string): Promise<T> {
  const end = Date.now() + 2000;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`condition not met within 2 s: ${describe()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** 4 or 16 address bytes, for frames */
const ip = (text: string) => addr(text).raw;

describe('tctp_ingress under BPF_PROG_TEST_RUN', () => {
  const lab = NetLab.create('tctpr');
  let ns: string;
  let ifindex: number;
  let dp: Datapath;
  const ids: Record<string, number> = {};
  /** the program's verdict for `frame` arriving on the lab veth */
  const verdict = (frame: Uint8Array, on = ifindex) =>
    withNetns(ns, () => dp.ingress.testRun({ data: frame, context: skbContext(on), contextOutSize: 1024 })).returnValue;
  const CLIENT = '192.0.2.100'; // outside the /28 of the source-specific rule
  const tcp4 = (dport: number, opts: { src?: string; flags?: number; sport?: number } = {}) =>
    ipv4Frame({ proto: 'tcp', src: ip(opts.src ?? CLIENT), dst: ip('10.99.0.7'), sport: opts.sport ?? 40000, dport, tcpFlags: opts.flags ?? TCP_SYN });

  beforeAll(() => {
    ns = lab.addNetns('r');
    lab.addVeth({ netns: ns, ifname: 'ta', addresses: ['10.0.0.1/24', 'fd00:1::1/64'] }, { netns: ns, ifname: 'tb' });
    ifindex = lab.ifIndex(ns, 'ta');
    // a one-page ring buffer holds 56 events of 64 bytes (+ 8 bytes of record header each)
    dp = new Datapath(4096);
    dp.setIface(ifindex, 0, ['10.0.0.1', 'fd00:1::1']);
    ids.divertTcp = dp.addRule({ ifindex, proto: TCP, dst: '10.99.0.0/24', port: 80, action: 'divert', tproxyPort: 1 });
    ids.passTcp = dp.addRule({ ifindex, proto: TCP, dst: '10.99.0.0/24', port: 8080, action: 'pass' });
    ids.denyTcp = dp.addRule({ ifindex, proto: TCP, dst: '10.99.0.0/24', port: 23, action: 'deny' });
    // a longer source prefix of the same destination: its own port entries
    ids.denyFromNet = dp.addRule({ ifindex, proto: TCP, dst: '10.99.0.0/24', src: '192.0.2.0/28', port: 8080, action: 'deny' });
    ids.passUdp6 = dp.addRule({ ifindex, proto: UDP, dst: 'fd00:99::/64', port: 5353, action: 'pass' });
  });
  afterAll(async () => {
    try {
      dp?.close();
    } finally {
      await lab.destroy();
    }
  });

  it('writes events only when the interface asks, and counts what a full ring buffer loses', () => {
    const events: Omit<Event, 'time'>[] = [];
    const start = process.hrtime.bigint(); // CLOCK_MONOTONIC, as bpf_ktime_get_ns
    using ring = RingBuffer.open(dp.obj.map('tctp_events'), (r) => {
      const { time, ...e } = decodeEvent(r);
      expect(time >= start && time <= process.hrtime.bigint()).toBe(true);
      events.push(e);
    });
    const before = dp.stats(ifindex);
    for (let i = 0; i < 10; i++) expect(verdict(tcp4(81))).toBe(TC_ACT_SHOT);
    expect(ring.consume()).toBe(0);
    expect(dp.stats(ifindex)).toEqual({ ...before, dropped: before.dropped + 10 });

    dp.setIface(ifindex, IF.eventsDrop);
    for (let i = 0; i < 60; i++) expect(verdict(tcp4(81, { sport: 1000 + i }))).toBe(TC_ACT_SHOT);
    // the one-page ring holds 56 records of 64 + 8 bytes: the last 4 events are lost
    expect(dp.stats(ifindex)).toEqual({ ...before, dropped: before.dropped + 70, eventsLost: 4 });
    expect(ring.consume()).toBe(56);
    expect(events[0]).toEqual({
      ifindex, ruleId: 0, kind: EV.drop, reason: REASON.noRule, family: AF_INET, proto: TCP,
      source: `${CLIENT}:1000`, destination: '10.99.0.7:81', tproxyPort: 0,
    });
    expect(events.map((e) => e.source)).toEqual(Array.from({ length: 56 }, (_, i) => `${CLIENT}:${1000 + i}`));

    // every drop reason, with the rule and the tproxy port where there is one
    events.length = 0;
    dp.setIface(ifindex, IF.eventsDrop | IF.eventsDivert);
    verdict(tcp4(23));
    verdict(tcp4(80));
    verdict(ipv6Frame({ proto: 'udp', src: ip('fd00:1::2'), dst: ip('fd00:99::7'), sport: 7, dport: 5353 }));
    verdict(ethernet(0x88cc));
    verdict(ipv4Frame({ proto: 1, src: ip(CLIENT), dst: ip('10.0.0.1'), payload: Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 0) }));
    verdict(ipv4Frame({ proto: 47, src: ip(CLIENT), dst: ip('10.99.0.7'), payload: new Uint8Array(8) }));
    verdict(tcp4(8080).subarray(0, 40));
    expect(ring.consume()).toBe(7);
    const v4 = { ifindex, family: AF_INET, source: `${CLIENT}:40000`, destination: '10.99.0.7:80', tproxyPort: 0 };
    expect(events).toEqual([
      { ...v4, kind: EV.drop, reason: REASON.denyRule, proto: TCP, ruleId: ids.denyTcp, destination: '10.99.0.7:23' },
      { ...v4, kind: EV.drop, reason: REASON.noListener, proto: TCP, ruleId: ids.divertTcp, tproxyPort: 1 },
      // parsed before the IPv6 check: the event has the ports
      { ...v4, kind: EV.drop, reason: REASON.ipv6Off, proto: UDP, ruleId: 0, family: AF_INET6, source: '[fd00:1::2]:7', destination: '[fd00:99::7]:5353' },
      { ifindex, kind: EV.drop, reason: REASON.notIp, proto: 0, ruleId: 0, family: 0, source: '', destination: '', tproxyPort: 0 },
      { ...v4, kind: EV.drop, reason: REASON.icmp, proto: 1, ruleId: 0, source: `${CLIENT}:0`, destination: '10.0.0.1:0' },
      { ...v4, kind: EV.drop, reason: REASON.proto, proto: 47, ruleId: 0, source: `${CLIENT}:0`, destination: '10.99.0.7:0' },
      { ...v4, kind: EV.drop, reason: REASON.unparsed, proto: TCP, ruleId: 0, source: `${CLIENT}:0`, destination: '10.99.0.7:0' },
    ]);
    dp.setIface(ifindex, 0);
  });

  it('passes loopback and ARP, drops other non-IP EtherTypes', () => {
    const before = dp.stats(ifindex);
    expect(verdict(ethernet(0x0806))).toBe(TC_ACT_OK);
    expect(verdict(ethernet(0x88cc))).toBe(TC_ACT_SHOT); // LLDP
    expect(verdict(tcp4(81), 1)).toBe(TC_ACT_OK); // ifindex 1: lo
    expect(dp.stats(ifindex)).toEqual({ ...before, passed: before.passed + 1, dropped: before.dropped + 1 });
  });

  it('drops without a rule, passes and drops by rule, and counts rule hits', () => {
    const before = dp.stats(ifindex);
    const hitsBefore = Object.fromEntries(Object.entries(ids).map(([k, id]) => [k, dp.ruleHits(id)]));
    const hits = (name: string) => {
      const now = dp.ruleHits(ids[name]);
      return { packets: now.packets - hitsBefore[name].packets, bytes: now.bytes - hitsBefore[name].bytes };
    };
    const pass = tcp4(8080, { src: '198.51.100.1' });
    expect(verdict(pass)).toBe(TC_ACT_OK);
    expect(verdict(tcp4(8080, { src: '192.0.2.3' }))).toBe(TC_ACT_SHOT); // the /28 source rule wins
    expect(verdict(tcp4(8080, { src: '192.0.2.16' }))).toBe(TC_ACT_OK); // just outside the /28
    expect(verdict(tcp4(23))).toBe(TC_ACT_SHOT);
    expect(verdict(tcp4(24))).toBe(TC_ACT_SHOT); // no rule for the port
    expect(verdict(ipv4Frame({ proto: 'udp', src: ip(CLIENT), dst: ip('10.99.0.7'), dport: 8080 }))).toBe(TC_ACT_SHOT); // no UDP rule
    expect(verdict(ipv4Frame({ proto: 'tcp', src: ip(CLIENT), dst: ip('10.98.0.7'), dport: 8080 }))).toBe(TC_ACT_SHOT); // other dst
    expect(hits('passTcp')).toEqual({ packets: 2, bytes: 2 * pass.length });
    expect(hits('denyFromNet')).toEqual({ packets: 1, bytes: pass.length });
    expect(hits('denyTcp')).toEqual({ packets: 1, bytes: pass.length });
    expect(hits('divertTcp')).toEqual({ packets: 0, bytes: 0 });
    expect(dp.stats(ifindex)).toEqual({ ...before, passed: before.passed + 2, dropped: before.dropped + 5 });
  });

  it('an inline dst node decides by the port intervals in its value (no src or port entries)', () => {
    const [low, mid, deny, top] = dp.addInline({
      ifindex,
      proto: TCP,
      dst: '10.97.0.0/24',
      ranges: [
        { low: 0, high: 0, action: 'pass' },
        { low: 100, high: 199, action: 'pass' },
        { low: 300, high: 300, action: 'deny' },
        { low: 400, high: 65535, action: 'pass' }, // the fourth (last inline) interval is looked at too
      ],
    });
    const tcp = (dport: number) => ipv4Frame({ proto: 'tcp', src: ip(CLIENT), dst: ip('10.97.0.9'), sport: 40001, dport, tcpFlags: TCP_SYN });
    const before = { low: dp.ruleHits(low).packets, mid: dp.ruleHits(mid).packets, deny: dp.ruleHits(deny).packets, top: dp.ruleHits(top).packets };
    expect(verdict(tcp(0))).toBe(TC_ACT_OK);
    expect(verdict(tcp(100))).toBe(TC_ACT_OK);
    expect(verdict(tcp(199))).toBe(TC_ACT_OK);
    expect(verdict(tcp(200))).toBe(TC_ACT_SHOT); // between intervals: no rule
    expect(verdict(tcp(300))).toBe(TC_ACT_SHOT);
    expect(verdict(tcp(399))).toBe(TC_ACT_SHOT);
    expect(verdict(tcp(400))).toBe(TC_ACT_OK);
    expect(verdict(tcp(65535))).toBe(TC_ACT_OK);
    expect(dp.ruleHits(low).packets - before.low).toBe(1);
    expect(dp.ruleHits(mid).packets - before.mid).toBe(2);
    expect(dp.ruleHits(deny).packets - before.deny).toBe(1);
    expect(dp.ruleHits(top).packets - before.top).toBe(2);
    // the source does not matter to an inline node
    expect(verdict(ipv4Frame({ proto: 'tcp', src: ip('192.0.2.3'), dst: ip('10.97.0.9'), sport: 40002, dport: 150, tcpFlags: TCP_SYN }))).toBe(TC_ACT_OK);
  });

  it('looks a full-length destination up in tctp_dst_host first: it shadows the trie', () => {
    dp.addInline({ ifindex, proto: TCP, dst: '10.96.0.0/16', ranges: [{ low: 80, high: 80, action: 'pass' }] });
    dp.addInline({ ifindex, proto: TCP, dst: '10.96.0.5/32', host: true, ranges: [{ low: 443, high: 443, action: 'pass' }] });
    dp.addInline({ ifindex, proto: UDP, dst: 'fd00:96::5/128', host: true, ranges: [{ low: 53, high: 53, action: 'pass' }] });
    const tcp = (dst: string, dport: number) => ipv4Frame({ proto: 'tcp', src: ip(CLIENT), dst: ip(dst), sport: 40003, dport, tcpFlags: TCP_SYN });
    expect(verdict(tcp('10.96.0.6', 80))).toBe(TC_ACT_OK); // the trie's /16
    expect(verdict(tcp('10.96.0.6', 443))).toBe(TC_ACT_SHOT);
    expect(verdict(tcp('10.96.0.5', 443))).toBe(TC_ACT_OK); // the host entry
    expect(verdict(tcp('10.96.0.5', 80))).toBe(TC_ACT_SHOT); // the host entry decides alone
    expect(verdict(ipv4Frame({ proto: 'udp', src: ip(CLIENT), dst: ip('10.96.0.5'), dport: 443 }))).toBe(TC_ACT_SHOT); // other protocol
    const udp6 = (dst: string) => ipv6Frame({ proto: 'udp', src: ip('fd00:1::2'), dst: ip(dst), sport: 7, dport: 53 });
    dp.setIface(ifindex, IF.ipv6);
    try {
      expect(verdict(udp6('fd00:96::5'))).toBe(TC_ACT_OK);
      expect(verdict(udp6('fd00:96::6'))).toBe(TC_ACT_SHOT);
    } finally {
      dp.setIface(ifindex, 0);
    }
  });

  it('a divert rule without a usable listener drops (bpf_sk_assign is refused under test runs too)', () => {
    const before = dp.stats(ifindex);
    const hits = dp.ruleHits(ids.divertTcp).packets;
    expect(verdict(tcp4(80))).toBe(TC_ACT_SHOT);
    expect(dp.ruleHits(ids.divertTcp).packets).toBe(hits + 1);
    expect(dp.stats(ifindex)).toEqual({ ...before, dropped: before.dropped + 1 });
  });

  it('passes ICMP errors and echo replies; echo requests only with TCTP_IF_ECHO', () => {
    const icmp4 = (type: number) => ipv4Frame({ proto: 1, src: ip(CLIENT), dst: ip('10.0.0.1'), payload: Uint8Array.of(type, 0, 0, 0, 0, 1, 0, 1) });
    const icmp6 = (type: number) => ipv6Frame({ proto: 58, src: ip('fd00:1::2'), dst: ip('fd00:1::1'), payload: Uint8Array.of(type, 0, 0, 0, 0, 1, 0, 1) });
    dp.setIface(ifindex, IF.ipv6);
    expect([0, 3, 11, 8, 5, 13].map((t) => verdict(icmp4(t)))).toEqual([0, 0, 0, 2, 2, 2]);
    expect([129, 1, 2, 3, 133, 135, 136, 137, 128, 4, 130].map((t) => verdict(icmp6(t)))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2]);
    dp.setIface(ifindex, IF.ipv6 | IF.echo);
    expect([verdict(icmp4(8)), verdict(icmp6(128))]).toEqual([TC_ACT_OK, TC_ACT_OK]);
    dp.setIface(ifindex, 0);
  });

  it('drops IPv6 unless TCTP_IF_IPV6, then applies the rules to it', () => {
    const udp6 = ipv6Frame({ proto: 'udp', src: ip('fd00:1::2'), dst: ip('fd00:99::7'), dport: 5353 });
    expect(verdict(udp6)).toBe(TC_ACT_SHOT);
    expect(dp.ruleHits(ids.passUdp6).packets).toBe(0);
    dp.setIface(ifindex, IF.ipv6);
    expect(verdict(udp6)).toBe(TC_ACT_OK);
    expect(verdict(ipv6Frame({ proto: 'udp', src: ip('fd00:1::2'), dst: ip('fd00:99::7'), dport: 5354 }))).toBe(TC_ACT_SHOT);
    expect(dp.ruleHits(ids.passUdp6).packets).toBe(1);
    dp.setIface(ifindex, 0);
  });

  it('drops what it cannot parse: later IPv4 fragments, IPv6 extension headers, truncated headers, other protocols', () => {
    dp.setIface(ifindex, IF.ipv6);
    const first = Buffer.from(tcp4(8080, { src: '198.51.100.1' }));
    first.writeUInt16BE(0x2000, 20); // more fragments, offset 0: still has the ports
    expect(verdict(first)).toBe(TC_ACT_OK);
    const later = Buffer.from(first);
    later.writeUInt16BE(0x2010, 20); // offset 128 bytes
    expect(verdict(later)).toBe(TC_ACT_SHOT);
    expect(verdict(ipv6Frame({ proto: 0, src: ip('fd00:1::2'), dst: ip('fd00:99::7'), payload: new Uint8Array(16) }))).toBe(TC_ACT_SHOT);
    expect(verdict(ipv6Frame({ proto: 44, src: ip('fd00:1::2'), dst: ip('fd00:99::7'), payload: new Uint8Array(16) }))).toBe(TC_ACT_SHOT);
    expect(verdict(tcp4(8080, { src: '198.51.100.1' }).subarray(0, 14 + 20 + 10))).toBe(TC_ACT_SHOT); // TCP header cut
    expect(verdict(ipv4Frame({ proto: 47, src: ip(CLIENT), dst: ip('10.99.0.7'), payload: new Uint8Array(8) }))).toBe(TC_ACT_SHOT); // GRE
    dp.setIface(ifindex, 0);
  });

  it('passes DHCP replies and, with TCTP_IF_SSH, TCP 22 to the interface\'s own addresses', () => {
    expect(verdict(ipv4Frame({ proto: 'udp', src: ip('10.0.0.254'), dst: ip('10.0.0.1'), sport: 67, dport: 68 }))).toBe(TC_ACT_OK);
    expect(verdict(ipv4Frame({ proto: 'udp', src: ip('10.0.0.254'), dst: ip('10.0.0.1'), sport: 68, dport: 67 }))).toBe(TC_ACT_SHOT);
    const ssh4 = ipv4Frame({ proto: 'tcp', src: ip(CLIENT), dst: ip('10.0.0.1'), dport: 22 });
    const ssh6 = ipv6Frame({ proto: 'tcp', src: ip('fd00:1::2'), dst: ip('fd00:1::1'), dport: 22 });
    const sshElsewhere = ipv4Frame({ proto: 'tcp', src: ip(CLIENT), dst: ip('10.0.0.9'), dport: 22 });
    dp.setIface(ifindex, IF.ipv6);
    expect([verdict(ssh4), verdict(ssh6), verdict(sshElsewhere)]).toEqual([TC_ACT_SHOT, TC_ACT_SHOT, TC_ACT_SHOT]);
    dp.setIface(ifindex, IF.ipv6 | IF.ssh);
    expect([verdict(ssh4), verdict(ssh6), verdict(sshElsewhere)]).toEqual([TC_ACT_OK, TC_ACT_OK, TC_ACT_SHOT]);
    expect(verdict(ipv6Frame({ proto: 'udp', src: ip('fe80::1'), dst: ip('fe80::2'), sport: 547, dport: 546 }))).toBe(TC_ACT_OK);
    dp.setIface(ifindex, 0);
  });

  it('passes replies of tracked flows until they expire; RST forgets, FIN marks them', () => {
    const now = () => process.hrtime.bigint(); // CLOCK_MONOTONIC, as bpf_ktime_get_ns
    const key = (sport: number): CtKey => ({ ifindex, family: AF_INET, sport_be: sport, dport_be: 40000, saddr: addr('10.99.0.7').bytes, daddr: addr(CLIENT).bytes });
    // a reply from 10.99.0.7:<sport> to the client, on a port no rule covers
    const reply = (sport: number, flags: number) =>
      ipv4Frame({ proto: 'tcp', src: ip('10.99.0.7'), dst: ip(CLIENT), sport, dport: 40000, tcpFlags: flags });
    expect(verdict(reply(5001, TCP_ACK))).toBe(TC_ACT_SHOT);
    dp.ctTcp.set(key(5001), { last_seen_ns: now(), flags: 0 });
    expect(verdict(reply(5001, TCP_ACK))).toBe(TC_ACT_OK);
    expect(verdict(reply(5001, TCP_ACK | TCP_FIN))).toBe(TC_ACT_OK);
    expect(dp.ctTcp.get(key(5001))?.flags).toBe(CT_FIN_IN);
    expect(verdict(reply(5001, TCP_RST))).toBe(TC_ACT_OK);
    expect(dp.ctTcp.has(key(5001))).toBe(false);
    expect(verdict(reply(5001, TCP_ACK))).toBe(TC_ACT_SHOT);

    // timestamps in the past by the program's u64 arithmetic: valid on a machine up for less than an hour too
    dp.ctTcp.set(key(5002), { last_seen_ns: monotonicNsAgo(TCP_IDLE_NS + 1_000_000_000n), flags: 0 });
    expect(verdict(reply(5002, TCP_ACK))).toBe(TC_ACT_SHOT); // idle too long
    expect(dp.ctTcp.has(key(5002))).toBe(false);
    // FINs both ways: closing time-out (10 s) instead of the idle one
    dp.ctTcp.set(key(5003), { last_seen_ns: monotonicNsAgo(11_000_000_000n), flags: CT_FIN_IN | CT_FIN_OUT });
    dp.ctTcp.set(key(5004), { last_seen_ns: monotonicNsAgo(11_000_000_000n), flags: CT_FIN_OUT });
    expect([verdict(reply(5003, TCP_ACK)), verdict(reply(5004, TCP_ACK))]).toEqual([TC_ACT_SHOT, TC_ACT_OK]);

    const udpKey: CtKey = { ...key(53), sport_be: 53 };
    const udpReply = ipv4Frame({ proto: 'udp', src: ip('10.99.0.7'), dst: ip(CLIENT), sport: 53, dport: 40000 });
    expect(verdict(udpReply)).toBe(TC_ACT_SHOT);
    dp.ctUdp.set(udpKey, { last_seen_ns: now(), flags: 0 });
    expect(verdict(udpReply)).toBe(TC_ACT_OK);
    dp.ctUdp.set(udpKey, { last_seen_ns: monotonicNsAgo(31_000_000_000n), flags: 0 });
    expect(verdict(udpReply)).toBe(TC_ACT_SHOT);
    // the entry belongs to its interface
    dp.ctUdp.set(udpKey, { last_seen_ns: now(), flags: 0 });
    const other = lab.ifIndex(ns, 'tb');
    expect(verdict(udpReply, other)).toBe(TC_ACT_SHOT);
  });
});

describe('tc_tproxy with real traffic (client -> router <- server)', () => {
  const lab = NetLab.create('tctpt');
  const ns = { client: '', router: '', server: '' };
  let dp: Datapath;
  let ifindex: number;
  const links: Link[] = [];
  let ziti: ZitiListener | undefined;
  const listeners: Listener[] = [];
  let egress: Link | undefined;
  const ids: Record<string, number> = {};

  const exchange = (from: string, proto: 'tcp' | 'udp', host: string, port: number, payload: string, timeoutMs = 2000) =>
    lab.exchange(from, proto, host, port, { payload, timeoutMs });

  beforeAll(async () => {
    ns.client = lab.addNetns('c');
    ns.router = lab.addNetns('r');
    ns.server = lab.addNetns('s');
    lab.addVeth({ netns: ns.client, ifname: 'eth0', addresses: ['10.0.0.2/24', 'fd00:1::2/64'] }, { netns: ns.router, ifname: 'eth-c', addresses: ['10.0.0.1/24', 'fd00:1::1/64'] });
    lab.addVeth({ netns: ns.server, ifname: 'eth0', addresses: ['10.1.0.2/24', 'fd00:2::2/64'] }, { netns: ns.router, ifname: 'eth-s', addresses: ['10.1.0.1/24', 'fd00:2::1/64'] });
    lab.ip(ns.client, 'route', 'add', 'default', 'via', '10.0.0.1');
    lab.ip(ns.client, '-6', 'route', 'add', 'default', 'via', 'fd00:1::1');
    lab.ip(ns.server, 'route', 'add', 'default', 'via', '10.1.0.1');
    lab.ip(ns.server, '-6', 'route', 'add', 'default', 'via', 'fd00:2::1');
    lab.sysctl(ns.router, 'net.ipv4.ip_forward', 1);
    lab.sysctl(ns.router, 'net.ipv6.conf.all.forwarding', 1);
    // the intercepted ranges are local to the router (AnyIP), as a ziti router sets them up
    lab.ip(ns.router, 'route', 'add', 'local', '10.99.0.0/24', 'dev', 'lo');
    lab.ip(ns.router, '-6', 'route', 'add', 'local', 'fd00:99::/64', 'dev', 'lo');
    ifindex = lab.ifIndex(ns.router, 'eth-c');

    ziti = await startZitiListener(ns.router);
    dp = new Datapath();
    dp.setIface(ifindex, IF.ssh | IF.ipv6 | IF.eventsDrop | IF.eventsDivert, ['10.0.0.1', 'fd00:1::1']);
    ids.tcp4 = dp.addRule({ ifindex, proto: TCP, dst: '10.99.0.0/24', port: 80, action: 'divert', tproxyPort: ziti.tcp4 });
    ids.udp4 = dp.addRule({ ifindex, proto: UDP, dst: '10.99.0.0/24', port: 53, action: 'divert', tproxyPort: ziti.udp4 });
    dp.addRule({ ifindex, proto: TCP, dst: 'fd00:99::/64', port: 80, action: 'divert', tproxyPort: ziti.tcp6 });
    dp.addRule({ ifindex, proto: UDP, dst: 'fd00:99::/64', port: 53, action: 'divert', tproxyPort: ziti.udp6 });
    dp.addRule({ ifindex, proto: TCP, dst: '10.99.0.0/24', port: 8443, action: 'divert', tproxyPort: 1 }); // nobody listens on 1
    links.push(attachTc(dp.ingress, { ifname: 'eth-c', direction: 'ingress', netns: ns.router }));
    egress = attachTc(dp.egress, { ifname: 'eth-c', direction: 'egress', netns: ns.router });
    links.push(egress);
  });
  afterAll(async () => {
    try {
      for (const l of links) {
        try {
          l.close();
        } catch {
          // keep cleaning up
        }
      }
      ziti?.close();
      for (const l of listeners) l.close();
      dp?.close();
    } finally {
      await lab.destroy();
    }
  });

  it('diverts TCP and UDP to the tproxy listener, which sees the original destination (IPv4)', async () => {
    const events: Omit<Event, 'time'>[] = [];
    using ring = RingBuffer.open(dp.obj.map('tctp_events'), (r) => {
      const { time: _, ...e } = decodeEvent(r);
      events.push(e);
    });
    ring.consume(); // whatever the lab's set-up caused
    events.length = 0;
    const before = dp.stats(ifindex);
    const tcp = await exchange(ns.client, 'tcp', '10.99.0.7', 80, 'hello-tcp');
    expect(tcp.reply).toMatch(/^orig=10\.99\.0\.7:80 peer=10\.0\.0\.2:\d+ data=hello-tcp\n$/);
    const udp = await exchange(ns.client, 'udp', '10.99.0.7', 53, 'hello-udp');
    expect(udp.reply).toMatch(/^orig=10\.99\.0\.7:53 peer=10\.0\.0\.2:\d+ data=hello-udp\n$/);
    const after = dp.stats(ifindex);
    // the SYN and the datagram; the rest of the connection passes by its socket
    expect(after.diverted - before.diverted).toBe(2);
    expect(after.passed).toBeGreaterThan(before.passed);
    ring.consume();
    const peer = (reply: string | undefined) => reply?.match(/peer=(\S+)/)?.[1];
    expect(events.filter((e) => e.kind === EV.divert)).toEqual([
      { ifindex, ruleId: ids.tcp4, kind: EV.divert, reason: REASON.rule, family: AF_INET, proto: TCP, source: peer(tcp.reply), destination: '10.99.0.7:80', tproxyPort: ziti!.tcp4 },
      { ifindex, ruleId: ids.udp4, kind: EV.divert, reason: REASON.rule, family: AF_INET, proto: UDP, source: peer(udp.reply), destination: '10.99.0.7:53', tproxyPort: ziti!.udp4 },
    ]);
  });

  it('diverts TCP and UDP over IPv6', async () => {
    const tcp = await exchange(ns.client, 'tcp', 'fd00:99::7', 80, 'hello-tcp6');
    expect(tcp.reply).toMatch(/^orig=\[fd00:99::7\]:80 peer=\[fd00:1::2\]:\d+ data=hello-tcp6\n$/);
    const udp = await exchange(ns.client, 'udp', 'fd00:99::7', 53, 'hello-udp6');
    expect(udp.reply).toMatch(/^orig=\[fd00:99::7\]:53 peer=\[fd00:1::2\]:\d+ data=hello-udp6\n$/);
  });

  it('drops what no rule covers, and a divert rule whose listener is missing', async () => {
    const before = dp.stats(ifindex);
    const results = await Promise.all([
      exchange(ns.client, 'tcp', '10.99.0.7', 81, 'x', 1000),
      exchange(ns.client, 'udp', '10.99.0.7', 54, 'x', 1000),
      exchange(ns.client, 'tcp', '10.99.0.7', 8443, 'x', 1000),
      exchange(ns.client, 'tcp', 'fd00:99::7', 81, 'x', 1000),
    ]);
    expect(results.map((r) => r.error)).toEqual(['timeout', 'timeout', 'timeout', 'timeout']);
    expect(dp.stats(ifindex).dropped - before.dropped).toBeGreaterThanOrEqual(4);
  });

  it('lets SSH to the router\'s own address through only with TCTP_IF_SSH', async () => {
    const ssh = await lab.listen(ns.router, 'tcp', '0.0.0.0', 22);
    listeners.push(ssh);
    expect((await exchange(ns.client, 'tcp', '10.0.0.1', 22, 'ssh-on')).reply).toBe('echo:ssh-on');
    dp.setIface(ifindex, IF.ipv6 | IF.eventsDrop | IF.eventsDivert);
    expect((await exchange(ns.client, 'tcp', '10.0.0.1', 22, 'ssh-off', 1000)).error).toBe('timeout');
    dp.setIface(ifindex, IF.ssh | IF.ipv6 | IF.eventsDrop | IF.eventsDivert);
    expect((await exchange(ns.client, 'tcp', '10.0.0.1', 22, 'ssh-again')).reply).toBe('echo:ssh-again');
  });

  it('lets in the replies of connections the router opens itself', async () => {
    const server = await lab.listen(ns.client, 'tcp', '10.0.0.2', 0);
    listeners.push(server);
    expect((await exchange(ns.router, 'tcp', '10.0.0.2', server.port, 'from-router')).reply).toBe('echo:from-router');
  });

  it('lets in the replies of forwarded flows that tctp_egress recorded, and only those', async () => {
    const tcpServer = await lab.listen(ns.client, 'tcp', '::', 0); // IPv4 and IPv6
    const udpServer = await lab.listen(ns.client, 'udp', '::', 0);
    listeners.push(tcpServer, udpServer);
    expect((await exchange(ns.server, 'tcp', '10.0.0.2', tcpServer.port, 'fwd-tcp')).reply).toBe('echo:fwd-tcp');
    expect((await exchange(ns.server, 'udp', '10.0.0.2', udpServer.port, 'fwd-udp')).reply).toBe('echo:fwd-udp');
    expect((await exchange(ns.server, 'tcp', 'fd00:1::2', tcpServer.port, 'fwd-tcp6')).reply).toBe('echo:fwd-tcp6');

    // both ends closed: FINs seen both ways (the last ones may still be on their way)
    const tcpFlows = await eventually(() => {
      const flows = [...dp.ctTcp.entries()].filter(([k]) => k.sport_be === tcpServer.port);
      return flows.length === 2 && flows.every(([, v]) => v.flags === (CT_FIN_IN | CT_FIN_OUT)) ? flows : undefined;
    }, () => JSON.stringify([...dp.ctTcp.entries()].map(([k, v]) => [k.sport_be, k.dport_be, k.family, v.flags])));
    expect(tcpFlows.map(([k]) => [k.ifindex, k.family])).toEqual(expect.arrayContaining([[ifindex, AF_INET], [ifindex, AF_INET6]]));
    const v4 = tcpFlows.find(([k]) => k.family === AF_INET)!;
    expect(Buffer.from(v4[0].saddr).subarray(0, 4)).toEqual(Buffer.from([10, 0, 0, 2]));
    expect(Buffer.from(v4[0].daddr).subarray(0, 4)).toEqual(Buffer.from([10, 1, 0, 2]));
    expect([...dp.ctUdp.entries()].some(([k]) => k.sport_be === udpServer.port && k.ifindex === ifindex)).toBe(true);

    // without the egress program nothing is recorded: the client's replies meet no rule
    egress!.close();
    links.splice(links.indexOf(egress!), 1);
    dp.ctTcp.clear();
    dp.ctUdp.clear();
    expect((await exchange(ns.server, 'tcp', '10.0.0.2', tcpServer.port, 'x', 1000)).error).toBe('timeout');
    expect((await exchange(ns.server, 'udp', '10.0.0.2', udpServer.port, 'x', 1000)).error).toBe('timeout');
  });
});
