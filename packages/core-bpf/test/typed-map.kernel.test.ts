// Typed maps on every map kind of the core_maps fixture: codecs checked against the kernel maps
// (sizes and BTF), single and batch operations, reconcile, per-CPU values; the program sees what
// user space wrote (BPF_PROG_TEST_RUN).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfMap } from '../src/bpf-map.js';
import { BpfObject } from '../src/bpf-object.js';
import { codecs as c } from '../src/codecs.js';
import { InvalidArgumentError, MapLayoutError, SyscallError } from '../src/errors.js';
import { TypedMap } from '../src/typed-map.js';
import { deleteMany, lookupChunks, updateMany } from '../src/map-batch.js';
import { FlowKey, fixturePath, ipv4Frame, Route } from './support/core-maps-fixture.js';

let obj: BpfObject;
beforeAll(() => {
  obj = BpfObject.open(fixturePath('core_maps'));
  obj.load({ maps: { core_pinned: { create: false } } });
});
afterAll(() => obj?.close());

const flow = (n: number) => ({ saddr: '10.0.0.1', daddr: `10.0.${n >> 8}.${n & 0xff}`, sport: 1000 + n, dport: 53, proto: 17 });
const route = (action: number, cookie = 0n) => ({ action, gateway: '10.9.9.9', port: 80, flags: 1, cookie });

describe('TypedMap on a hash map with a struct key', () => {
  it('sets, gets, replaces and deletes', () => {
    const flows = TypedMap.wrap(obj.map('core_flows'), FlowKey, c.u64);
    flows.clear();
    flows.set(flow(1), 5n);
    expect(flows.get(flow(1))).toBe(5n);
    expect(flows.has(flow(2))).toBe(false);
    expect(() => flows.set(flow(1), 6n, 'create')).toThrow(/update map core_flows \(create\): bpf_map_update_elem: EEXIST/);
    expect(() => flows.set(flow(2), 6n, 'replace')).toThrow(SyscallError);
    flows.set(flow(1), 6n, 'replace');
    expect([...flows.entries()]).toEqual([[flow(1), 6n]]);
    expect(flows.take(flow(1))).toBe(6n);
    expect(flows.delete(flow(1))).toBe(false);
    expect(flows.get(flow(1))).toBeUndefined();
  });

  it('writes, reads and deletes a thousand entries in batches', () => {
    const flows = TypedMap.wrap(obj.map('core_flows'), FlowKey, c.u64);
    flows.clear();
    const entries = Array.from({ length: 1000 }, (_, i) => [flow(i), BigInt(i)] as const);
    flows.setMany(entries);
    const read = new Map([...flows.entries()].map(([k, v]) => [k.sport, v]));
    expect(read.size).toBe(1000);
    expect(read.get(1000 + 777)).toBe(777n);
    expect([...flows.keys()]).toHaveLength(1000);
    expect(flows.deleteMany(entries.slice(0, 400).map(([k]) => k))).toBe(400);
    expect(flows.deleteMany([flow(0), flow(500)])).toBe(1); // flow(0) is already gone
    expect([...flows.keys()]).toHaveLength(599);
    expect(flows.clear()).toBe(599);
    expect([...flows.keys()]).toHaveLength(0);
  });

  it('reconciles to a desired state and is idempotent', () => {
    const flows = TypedMap.wrap(obj.map('core_flows'), FlowKey, c.u64);
    flows.clear();
    flows.setMany([[flow(1), 1n], [flow(2), 2n], [flow(3), 3n]]);
    const desired: Array<[ReturnType<typeof flow>, bigint]> = [[flow(2), 2n], [flow(3), 30n], [flow(4), 4n]];
    expect(flows.reconcile(desired)).toEqual({ added: 1, changed: 1, removed: 1, unchanged: 1 });
    expect(new Map([...flows.entries()].map(([k, v]) => [k.sport, v]))).toEqual(new Map([[1002, 2n], [1003, 30n], [1004, 4n]]));
    expect(flows.reconcile(desired)).toEqual({ added: 0, changed: 0, removed: 0, unchanged: 3 });
  });

  it('validates every entry before writing any', () => {
    const flows = TypedMap.wrap(obj.map('core_flows'), FlowKey, c.u64);
    flows.clear();
    const bad = [[flow(1), 1n], [{ ...flow(2), daddr: '10.0.0.300' }, 2n]] as const;
    expect(() => flows.setMany(bad)).toThrow(/map core_flows: key\.daddr: expected an IPv4 address/);
    expect(() => flows.reconcile(bad)).toThrow(InvalidArgumentError);
    expect(() => flows.set(flow(1), -1n)).toThrow(/map core_flows: value: expected a bigint 0\.\./);
    expect([...flows.keys()]).toHaveLength(0);
  });
});

describe('TypedMap on an LPM trie', () => {
  it('steers the program by longest prefix', () => {
    const routes = TypedMap.wrap(obj.map('core_routes'), c.ipv4Cidr, Route);
    const classify = obj.program('core_classify');
    routes.reconcile([
      ['10.0.0.0/8', route(1)],
      ['10.1.0.0/16', route(2, 99n)],
    ]);
    expect(classify.testRun({ data: ipv4Frame('10.1.2.3') }).returnValue).toBe(2);
    expect(classify.testRun({ data: ipv4Frame('10.2.2.3') }).returnValue).toBe(1);
    expect(classify.testRun({ data: ipv4Frame('11.0.0.1') }).returnValue).toBe(0);
    expect(routes.get('10.1.0.0/16')).toEqual(route(2, 99n));
    expect(routes.reconcile([['10.0.0.0/8', route(4)]])).toEqual({ added: 0, changed: 1, removed: 1, unchanged: 0 });
    expect(classify.testRun({ data: ipv4Frame('10.1.2.3') }).returnValue).toBe(4);
    expect([...routes.keys()]).toEqual(['10.0.0.0/8']);
    expect(() => routes.set('10.0.0.1/8', route(1))).toThrow(/no host bits set/);
  });
});

describe('TypedMap on an array map', () => {
  it('resets instead of deleting', () => {
    const config = TypedMap.wrap(obj.map('core_config'), c.u32, c.u64);
    const echo = obj.program('core_config_echo');
    config.set(0, 41n);
    expect(echo.testRun({ data: ipv4Frame('10.0.0.1') }).returnValue).toBe(41);
    expect([...config.keys()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(config.reconcile([[3, 3n]])).toEqual({ added: 0, changed: 1, removed: 1, unchanged: 6 });
    expect(config.get(0)).toBe(0n);
    expect(config.get(3)).toBe(3n);
    expect(() => config.delete(3)).toThrow(/bpf_map_delete_elem: EINVAL/);
    expect(config.clear()).toBe(1);
    expect([...config.entries()].every(([, v]) => v === 0n)).toBe(true);
    expect(() => config.set(8, 1n)).toThrow(/E2BIG|EINVAL/);
  });
});

describe('TypedMap on per-CPU maps', () => {
  it('reads one value per possible CPU', () => {
    const raw = obj.map('core_counters');
    expect(() => TypedMap.wrap(raw, c.u32, c.u64)).toThrow(/percpu_array map: use TypedMap.wrapPerCpu/);
    const counters = TypedMap.wrapPerCpu(raw, c.u32, c.u64);
    const cpus = raw.cpuSlots;
    expect(cpus).toBeGreaterThanOrEqual(1);
    counters.set(0, new Array(cpus).fill(0n));
    obj.program('core_classify').testRun({ data: ipv4Frame('10.0.0.1'), repeat: 25 });
    const perCpu = counters.get(0)!;
    expect(perCpu).toHaveLength(cpus);
    expect(perCpu.reduce((a, b) => a + b, 0n)).toBe(25n);
    expect(() => counters.set(1, [1n])).toThrow(/expected an array of \d+ values \(one per possible cpu\)/);
  });

  it('stores struct values per CPU in a per-CPU hash', () => {
    const m = TypedMap.wrapPerCpu(obj.map('core_percpu_routes'), c.u32, Route);
    const values = Array.from({ length: m.map.cpuSlots }, (_, i) => route(i, BigInt(i)));
    m.setMany([[7, values]]);
    expect(m.get(7)).toEqual(values);
    expect(m.reconcile([])).toEqual({ added: 0, changed: 0, removed: 1, unchanged: 0 });
  });
});

describe('codec checks', () => {
  it('refuses codecs of the wrong size', () => {
    expect(() => TypedMap.wrap(obj.map('core_flows'), c.u32, c.u64)).toThrow(MapLayoutError);
    expect(() => TypedMap.wrap(obj.map('core_flows'), c.u32, c.u32)).toThrow(
      /map core_flows: layout mismatch: key codec u32 is 4 bytes, the map's key is 16 bytes; value codec u32 is 4 bytes, the map's value is 8 bytes/,
    );
  });

  it('refuses codecs whose fields drift from the BTF', () => {
    const swapped = c.struct({ gateway: c.ipv4, action: c.u32, port: c.be16, flags: c.u8, pad: c.pad(1), pad2: c.pad(4), cookie: c.u64 });
    expect(() => TypedMap.wrap(obj.map('core_routes'), c.ipv4Cidr, swapped)).toThrow(
      /value\.gateway: codec offset 0, C member gateway is at offset 4/,
    );
    const renamed = c.struct({ action: c.u32, gw: c.ipv4, port: c.be16, flags: c.u8, pad: c.pad(1), pad2: c.pad(4), cookie: c.u64 });
    expect(() => TypedMap.wrap(obj.map('core_routes'), c.ipv4Cidr, renamed)).toThrow(/has no member "gw"/);
    expect(() => TypedMap.wrap(obj.map('core_routes'), c.ipv4Cidr, renamed, { checkBtf: false })).not.toThrow();
    const cNamed = c.struct(
      { action: c.u32, gw: c.ipv4, port: c.be16, flags: c.u8, pad: c.pad(1), pad2: c.pad(4), cookie: c.u64 },
      { cNames: { gw: 'gateway' } },
    );
    expect(() => TypedMap.wrap(obj.map('core_routes'), c.ipv4Cidr, cNamed)).not.toThrow();
  });
});

describe('BpfMap', () => {
  it('creates maps without BTF and checks raw sizes', () => {
    using m = BpfMap.create({ type: 'hash', name: 'cbpfa_scratch', keySize: 4, valueSize: 8, maxEntries: 2 });
    expect([m.type, m.name, m.keySize, m.valueSize, m.maxEntries]).toEqual(['hash', 'cbpfa_scratch', 4, 8, 2]);
    const t = TypedMap.wrap(m, c.u32, c.u64); // no BTF: sizes only
    t.setMany([[1, 1n], [2, 2n]]);
    expect(() => t.set(3, 3n)).toThrow(/E2BIG/);
    expect(() => m.lookup(Buffer.alloc(3))).toThrow(/lookup in map cbpfa_scratch: key must be a Uint8Array of 4 bytes, got 3 bytes/);
    expect(() => m.update(Buffer.alloc(4), Buffer.alloc(4))).toThrow(/value must be a Uint8Array of 8 bytes/);
    expect(() => m.update(Buffer.alloc(4), Buffer.alloc(8), 'always' as never)).toThrow(/accepted are upsert, create, replace/);
    using again = BpfMap.fromId(m.id);
    expect([...TypedMap.wrap(again, c.u32, c.u64).entries()].sort()).toEqual([[1, 1n], [2, 2n]]);
    m.close();
    expect(() => m.fd).toThrow(/map cbpfa_scratch is closed/);
    expect(() => BpfMap.create({ type: 'hashmap' as never, keySize: 4, valueSize: 4, maxEntries: 1 })).toThrow(/unknown map type "hashmap"/);
    expect(() => BpfMap.create({ type: 'hash', name: 'has space', keySize: 4, valueSize: 4, maxEntries: 1 })).toThrow(InvalidArgumentError);
  });

  it('reads LPM tries and arrays the same way, batched or not', () => {
    using lpm = BpfMap.create({ type: 'lpm_trie', keySize: 8, valueSize: 4, maxEntries: 2048, flags: 1 });
    const t = TypedMap.wrap(lpm, c.ipv4Cidr, c.u32);
    const want = Array.from({ length: 1500 }, (_, i) => [`10.${i >> 8}.${i & 0xff}.0/24`, i] as [string, number]);
    t.setMany(want);
    expect(new Map(t.entries())).toEqual(new Map(want));
    expect(t.reconcile(want.slice(0, 10))).toMatchObject({ removed: 1490, unchanged: 10 });
  });
});

describe('batch fallbacks', () => {
  it('walk, write and delete element by element where batches are missing', () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 64 });
    const target = { fd: m.fd, name: 'scratch', keySize: 4, valueBufferSize: 4, batch: { lookup: false, update: false, delete: false } };
    const keys = Buffer.alloc(4 * 40);
    const values = Buffer.alloc(4 * 40);
    for (let i = 0; i < 40; i++) {
      keys.writeUInt32LE(i, i * 4);
      values.writeUInt32LE(i * 10, i * 4);
    }
    updateMany(target, keys, values, 40, 0);
    const seen = new Map<number, number>();
    for (const [k, v, n] of lookupChunks(target, 16)) {
      for (let i = 0; i < n; i++) seen.set(k.readUInt32LE(i * 4), v.readUInt32LE(i * 4));
    }
    expect(seen.size).toBe(40);
    expect(seen.get(33)).toBe(330);
    expect(() => updateMany(target, keys, values, 40, 1)).toThrow(/update map scratch \(0 of 40 written\): bpf_map_update_elem: EEXIST/);
    expect(deleteMany(target, keys.subarray(0, 80), 20)).toBe(20);
    expect(deleteMany(target, keys, 40)).toBe(20);
    expect(target.batch).toEqual({ lookup: false, update: false, delete: false });
  });
});
