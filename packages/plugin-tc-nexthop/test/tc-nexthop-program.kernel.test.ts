/**
 * The BPF program's decisions against a brute-force longest-prefix match, through
 * BPF_PROG_TEST_RUN: after each of a series of rule-set changes (applied as diffs), every test
 * packet must be redirected exactly by the rule the reference picks (seen in that rule's counter)
 * or pass untouched. Also: map layouts vs BTF, adoption of pinned maps after a restart, clean-up of
 * inconsistent leftovers.
 */
import { randomBytes as cryptoRandom } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { BpfMap, MapLayoutError, TypedMap, codecs, loadSkeleton } from '@bpfsteer/core-bpf';
import { NetLab, ipFrame } from '@bpfsteer/netlab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrefix, type IpPrefix } from '@bpfsteer/ip';
import {
  MAP,
  counterCodec,
  ruleCodec,
  slotCodec,
  v4BucketCodec,
  v4KeyCodec,
  v4SubCellCodec,
  v6BucketCodec,
  v6KeyCodec,
  v6ShortCodec,
} from '../src/map-codecs.js';
import { NexthopDataplane } from '../src/nexthop-dataplane.js';
import { nexthopSkeleton } from '../src/nexthop-maps.js';
import type { NexthopRuleSpec } from '../src/nexthop-rule.js';
import { addressIn, randomBytes, random, randomPrefix, referenceLpm } from './support/packets.js';

const TC_ACT_OK = 0;
const TC_ACT_REDIRECT = 7;
const objectPath = new URL('../bpf/tc_nexthop.bpf.o', import.meta.url).pathname;

describe('tc_nexthop program (BPF_PROG_TEST_RUN)', () => {
  const lab = NetLab.create('tnp');
  const pinRoot = `/sys/fs/bpf/bpfsteer-test-tnp-${process.pid}-${cryptoRandom(3).toString('hex')}`;
  let ns: string;
  const open: NexthopDataplane[] = [];
  const start = (opts: { pinRoot?: string; maxRules?: number } = {}) => {
    const dp = NexthopDataplane.start({ netns: ns, ...opts });
    open.push(dp);
    return dp;
  };

  beforeAll(() => {
    ns = lab.addNetns('x');
    lab.addVeth({ netns: ns, ifname: 'ta' }, { netns: ns, ifname: 'tb' });
  });
  afterAll(async () => {
    for (const dp of open) {
      try {
        dp.close({ keepPinned: false });
      } catch {
        // keep cleaning up
      }
    }
    try {
      if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true });
    } finally {
      await lab.destroy();
    }
  });

  it('codecs match the C structs (sizes here, offsets against BTF when the skeleton loads)', () => {
    expect([v4KeyCodec.size, v6KeyCodec.size, ruleCodec.size, counterCodec.size]).toEqual([8, 20, 44, 16]);
    expect([v4BucketCodec.size, v4SubCellCodec.size, v6BucketCodec.size, v6ShortCodec.size, slotCodec.size]).toEqual([16, 12, 16, 16, 4]);
    const skel = loadSkeleton(objectPath, nexthopSkeleton);
    skel.close();
    const wrong = codecs.struct({ ifindex: codecs.u32, nh_addr_be: codecs.bytes(16, 4), nh_family: codecs.u32, src_prefixlen: codecs.u32, src_addr_be: codecs.bytes(16, 4) });
    expect(() =>
      loadSkeleton(objectPath, { ...nexthopSkeleton, maps: { ...nexthopSkeleton.maps, [MAP.rules]: { key: slotCodec, value: wrong } } }),
    ).toThrow(MapLayoutError);
  });

  it('redirects exactly by the longest matching source prefix, through a series of diffs', () => {
    const dp = start();
    const rnd = random(20260101);
    const dense4 = parsePrefix('10.20.0.0/16');
    const dense6 = parsePrefix('fd00:20::/32');
    const fresh = (): IpPrefix => {
      const r = rnd();
      if (r < 0.25) return randomPrefix(rnd, 4, [17, 20, 24, 24, 28, 31, 32], dense4);
      if (r < 0.45) return randomPrefix(rnd, 4, [0, 4, 8, 12, 15, 16, 18, 22, 24, 27, 32]);
      if (r < 0.7) return randomPrefix(rnd, 6, [33, 40, 48, 56, 64, 64, 96, 127, 128], dense6);
      return randomPrefix(rnd, 6, [0, 8, 16, 24, 32, 33, 48, 64, 100, 128]);
    };
    let rules = new Map<string, NexthopRuleSpec>();
    const nh = (p: IpPrefix) => (p.family === 4 ? `10.99.0.${1 + Math.floor(rnd() * 200)}` : `fd99::${(1 + Math.floor(rnd() * 200)).toString(16)}`);
    const iface = () => (rnd() < 0.5 ? 'ta' : 'tb');
    const sizes = [1, 40, 300, 300, 120, 0, 500];
    for (const [phase, size] of sizes.entries()) {
      // keep ~half, change some next hops, add new ones up to `size`
      const next = new Map<string, NexthopRuleSpec>();
      for (const [k, v] of rules) {
        if (next.size >= size || rnd() < 0.5) continue;
        next.set(k, rnd() < 0.2 ? { ...v, nexthop: nh(parsePrefix(k)) } : v);
      }
      while (next.size < size) {
        const p = fresh();
        next.set(p.text, { source: p.text, nexthop: nh(p), interface: iface() });
      }
      rules = next;
      dp.setRules([...rules.values()]);
      const listed = dp.list();
      expect(listed.map((r) => r.source).sort()).toEqual([...rules.keys()].sort());

      const prefixes = [...rules.keys()];
      const before = new Map(listed.map((r) => [r.source, r.packets]));
      const expected = new Map<string, number>();
      const packets = 600;
      for (let i = 0; i < packets; i++) {
        let src: Uint8Array;
        const pick = rnd();
        if (pick < 0.6 && prefixes.length > 0) src = addressIn(parsePrefix(prefixes[Math.floor(rnd() * prefixes.length)]), rnd);
        else if (pick < 0.7) src = addressIn(dense4, rnd);
        else if (pick < 0.8) src = addressIn(dense6, rnd);
        else src = randomBytes(rnd, rnd() < 0.5 ? 4 : 16);
        const want = referenceLpm(prefixes, src);
        const { returnValue } = dp.program.testRun({ data: ipFrame({ src }) });
        expect({ phase, src: Buffer.from(src).toString('hex'), ret: returnValue }).toEqual({
          phase,
          src: Buffer.from(src).toString('hex'),
          ret: want ? TC_ACT_REDIRECT : TC_ACT_OK,
        });
        if (want) expected.set(want, (expected.get(want) ?? 0) + 1);
      }
      for (const r of dp.list()) {
        expect({ phase, source: r.source, packets: r.packets - (before.get(r.source) ?? 0) }).toEqual({
          phase,
          source: r.source,
          packets: expected.get(r.source) ?? 0,
        });
      }
    }
  });

  it('replaces a full rule table (removing first when there is no room to add first)', () => {
    const dp = start({ maxRules: 64 });
    const rnd = random(7);
    const set = (family: 4 | 6) => {
      const m = new Map<string, NexthopRuleSpec>();
      while (m.size < 32) {
        const p = randomPrefix(rnd, family, family === 4 ? [16, 24, 32] : [48, 64, 128]);
        m.set(p.text, { source: p.text, nexthop: family === 4 ? '10.9.9.9' : 'fd09::9', interface: 'ta' });
      }
      return [...m.values()];
    };
    const a = [...set(4), ...set(6)];
    const b = [...set(4), ...set(6)];
    expect(dp.setRules(a)).toEqual({ added: 64, updated: 0, removed: 0 });
    expect(() => dp.setRules([...a, ...b.slice(0, 1)])).toThrow(/65 redirect rules exceed the capacity of 64/);
    expect(dp.setRules(b)).toEqual({ added: 64, updated: 0, removed: 64 });
    expect(dp.list().map((r) => r.source).sort()).toEqual(b.map((r) => r.source).sort());
    for (const r of b) {
      const src = addressIn(parsePrefix(r.source), rnd);
      const want = referenceLpm(b.map((x) => x.source), src);
      expect(dp.program.testRun({ data: ipFrame({ src }) }).returnValue).toBe(want ? TC_ACT_REDIRECT : TC_ACT_OK);
    }
    // every rule changes its next hop in a full table: rewritten in place
    expect(dp.setRules(b.map((r) => ({ ...r, nexthop: r.nexthop.includes(':') ? 'fd09::8' : '10.9.9.8' })))).toEqual({ added: 0, updated: 64, removed: 0 });
    expect(new Set(dp.list().map((r) => r.nexthop))).toEqual(new Set(['10.9.9.8', 'fd09::8']));
  });

  it('leaves non-IP and self-directed packets alone', () => {
    const dp = start();
    dp.setRules([
      { source: '0.0.0.0/0', nexthop: '10.0.0.1', interface: 'ta' },
      { source: '192.0.2.0/24', nexthop: '10.0.0.1', interface: 'lo' },
    ]);
    const arp = Buffer.alloc(60);
    arp.writeUInt16BE(0x0806, 12);
    expect(dp.program.testRun({ data: arp }).returnValue).toBe(TC_ACT_OK);
    const v4 = ipFrame({ src: new Uint8Array([198, 51, 100, 7]) });
    expect(dp.program.testRun({ data: v4 }).returnValue).toBe(TC_ACT_REDIRECT);
    const vlan = Buffer.from(v4);
    vlan.writeUInt16BE(0x8100, 12); // a tag in the frame: not parsed, left alone
    expect(dp.program.testRun({ data: vlan }).returnValue).toBe(TC_ACT_OK);
    // the test run's packet leaves through lo (ifindex 1): a rule towards that interface would loop
    expect(dp.program.testRun({ data: ipFrame({ src: new Uint8Array([192, 0, 2, 9]) }) }).returnValue).toBe(TC_ACT_OK);
    const counts = Object.fromEntries(dp.list().map((r) => [r.source, [r.packets, r.bytes]]));
    expect(counts).toEqual({ '0.0.0.0/0': [1, v4.length], '192.0.2.0/24': [0, 0] });
  });

  it('re-adopts pinned maps after a restart and cleans inconsistent leftovers', () => {
    const rules: NexthopRuleSpec[] = [
      { source: '192.168.1.5/32', nexthop: '10.111.221.21', interface: 'ta' },
      { source: '10.0.0.0/8', nexthop: '10.111.221.22', interface: 'tb' },
      { source: 'fd00:1::5/128', nexthop: 'fd00:221::21', interface: 'ta' },
      { source: 'fd00::/16', nexthop: 'fd00:221::21', interface: 'tb' },
    ];
    const first = start({ pinRoot });
    first.setRules(rules);
    first.program.testRun({ data: ipFrame({ src: new Uint8Array([192, 168, 1, 5]) }) });
    const listed = first.list();
    first.close({ keepPinned: true });
    expect(existsSync(`${pinRoot}/maps/${MAP.v4Prefixes}`)).toBe(true);

    // something (a crash, an older version) left a prefix pointing at an empty slot
    const pinned = BpfMap.fromPinned(`${pinRoot}/maps/${MAP.v4Prefixes}`);
    TypedMap.wrap(pinned, v4KeyCodec, slotCodec).set({ prefixlen: 24, addr_be: new Uint8Array([203, 0, 113, 0]) }, 4000);
    pinned.close();

    const second = start({ pinRoot });
    expect(second.list()).toEqual(listed);
    expect(second.list().find((r) => r.source === '192.168.1.5/32')?.packets).toBe(1);
    expect(second.program.testRun({ data: ipFrame({ src: new Uint8Array([203, 0, 113, 1]) }) }).returnValue).toBe(TC_ACT_OK);
    expect(second.program.testRun({ data: ipFrame({ src: new Uint8Array([10, 1, 2, 3]) }) }).returnValue).toBe(TC_ACT_REDIRECT);
    // the same desired state is a no-op; a smaller one removes the rest
    expect(second.setRules(rules)).toEqual({ added: 0, updated: 0, removed: 0 });
    expect(second.setRules(rules.slice(0, 1))).toEqual({ added: 0, updated: 0, removed: 3 });
    second.close({ keepPinned: false });
    expect(existsSync(pinRoot)).toBe(false);
  });

  it('refuses a pinned layout of another capacity with a clear error', () => {
    const a = start({ pinRoot, maxRules: 64 });
    a.close({ keepPinned: true });
    expect(() => start({ pinRoot })).toThrow(/incompatible.*max entries 64.*maxRules/);
    rmSync(pinRoot, { recursive: true });
  });
});
