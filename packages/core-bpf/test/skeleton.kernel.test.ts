// loadSkeleton: typed programs and maps declared once; names, sizes and BTF layouts are checked
// before anything is created in the kernel.
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { codecs as c } from '../src/codecs.js';
import { MapLayoutError, NotFoundError } from '../src/errors.js';
import { defineSkeleton, loadSkeleton } from '../src/skeleton.js';
import { FlowKey, fixturePath, ipv4Frame, makePinDir, removePinDir, Route } from './support/core-maps-fixture.js';
import { openFdCount } from './support/lab.js';

const spec = defineSkeleton({
  programs: ['core_classify', 'core_config_echo'],
  maps: {
    core_routes: { key: c.ipv4Cidr, value: Route },
    core_flows: { key: FlowKey, value: c.u64 },
    core_counters: { key: c.u32, value: c.u64, perCpu: true },
    core_pinned: { key: c.u32, value: c.u32 },
  },
});

let dir: string;
beforeAll(() => {
  dir = makePinDir();
});
afterAll(() => removePinDir(dir));

describe('loadSkeleton', () => {
  it('gives typed programs and maps', () => {
    using skel = loadSkeleton(fixturePath('core_maps'), spec, { pinRoot: dir, constants: { core_default_action: 1 } });
    expectTypeOf(skel.maps.core_counters.get).returns.toEqualTypeOf<bigint[] | undefined>();
    expectTypeOf(skel.maps.core_routes.get).parameter(0).toEqualTypeOf<string>();
    skel.maps.core_routes.set('192.168.0.0/16', { action: 6, gateway: '192.168.0.1', port: 53, flags: 0, cookie: 5n });
    expect(skel.programs.core_classify.testRun({ data: ipv4Frame('192.168.3.4') }).returnValue).toBe(6);
    expect(skel.programs.core_classify.testRun({ data: ipv4Frame('172.16.0.1', '10.0.0.9', 5353, 53) }).returnValue).toBe(1);
    expect([...skel.maps.core_flows.entries()]).toContainEqual([
      { saddr: '10.0.0.9', daddr: '172.16.0.1', sport: 5353, dport: 53, proto: 17 },
      1n,
    ]);
    expect(skel.maps.core_counters.get(0)!.reduce((a, b) => a + b)).toBe(2n);
    expect(existsSync(`${dir}/core_pinned`)).toBe(true);
  });

  it('checks names, sizes and layouts before creating anything', () => {
    const fresh = makePinDir();
    const before = openFdCount();
    try {
      const missing = () => loadSkeleton(fixturePath('core_maps'), { programs: ['nope'], maps: { gone: spec.maps.core_flows } }, { pinRoot: fresh });
      expect(missing).toThrow(NotFoundError);
      expect(missing).toThrow(/program nope, map gone in .*core_maps\.bpf\.o \(programs: core_classify, core_config_echo; maps: /);
      expect(() => loadSkeleton(fixturePath('core_maps'), { programs: [], maps: { core_routes: { key: c.u64, value: Route } } }, { pinRoot: fresh })).toThrow(
        MapLayoutError,
      );
      const drifted = c.struct({ action: c.u32, gateway: c.ipv4, port: c.be16, flags: c.u8, pad: c.pad(1), cookie: c.array(c.u32, 2), pad2: c.pad(4) });
      expect(() => loadSkeleton(fixturePath('core_maps'), { programs: [], maps: { core_routes: { key: c.ipv4Cidr, value: drifted } } }, { pinRoot: fresh })).toThrow(
        /value\.cookie: codec offset 12, C member cookie is at offset 16/,
      );
      expect(() => loadSkeleton(fixturePath('core_maps'), { programs: [], maps: { core_counters: { key: c.u32, value: c.u64 } } }, { pinRoot: fresh })).toThrow(
        /map core_counters: layout mismatch: declared without perCpu, but it is a percpu_array map/,
      );
      expect(() => loadSkeleton(fixturePath('core_maps'), { programs: [], maps: {} }, { pinRoot: fresh, constants: { nope: 1 } })).toThrow(
        /constant nope/,
      );
      expect(readdirSync(fresh)).toEqual([]); // nothing was pinned
      expect(openFdCount()).toBe(before);
    } finally {
      removePinDir(fresh);
    }
  });
});
