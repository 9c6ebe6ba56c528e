// Pinning maps and programs on bpffs, re-opening pins, and reusing pinned maps across loads
// (LIBBPF_PIN_BY_NAME with a pin root, or an explicit pin path), with compatibility checks.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfMap } from '../src/bpf-map.js';
import { BpfObject } from '../src/bpf-object.js';
import { codecs as c } from '../src/codecs.js';
import { InvalidArgumentError, NotFoundError, SyscallError } from '../src/errors.js';
import { removePin } from '../src/pin-path.js';
import { Program } from '../src/program.js';
import { TypedMap } from '../src/typed-map.js';
import { fixturePath, ipv4Frame, makePinDir, removePinDir, Route } from './support/core-maps-fixture.js';
import { openFdCount } from './support/lab.js';

let dir: string;
beforeAll(() => {
  dir = makePinDir();
});
afterAll(() => removePinDir(dir));

function load(options: Parameters<BpfObject['load']>[0] = {}, pinRoot = dir): BpfObject {
  const obj = BpfObject.open(fixturePath('core_maps'), { pinRoot });
  obj.load(options);
  return obj;
}

describe('pinning', () => {
  it('pins and re-opens maps with expectations', () => {
    const path = `${dir}/flows`;
    {
      using obj = load({ maps: { core_pinned: { create: false } } });
      TypedMap.wrap(obj.map('core_flows'), c.bytes(16), c.u64).set(new Uint8Array(16).fill(1), 9n);
      obj.map('core_flows').pin(path);
      expect(() => obj.map('core_flows').pin(path)).toThrow(/pin map core_flows at .*: bpf_obj_pin: EEXIST/);
    }
    const before = openFdCount();
    using flows = BpfMap.fromPinned(path, { type: 'hash', keySize: 16, valueSize: 8 });
    expect(flows.name).toBe('core_flows');
    // the kernel map keeps its BTF, so codecs are still checked field by field after a restart
    expect(() => TypedMap.wrap(flows, c.struct({ a: c.u64, b: c.u64 }), c.u64)).toThrow(
      /map core_flows: layout mismatch: key\.a: struct core_flow_key has no member "a"/,
    );
    // opaque bytes are checked by size only
    expect(TypedMap.wrap(flows, c.bytes(16), c.u64).get(new Uint8Array(16).fill(1))).toBe(9n);
    expect(() => BpfMap.fromPinned(path, { type: 'lru_hash', maxEntries: 5 })).toThrow(
      new RegExp(`pinned object ${path} is incompatible: type hash, expected lru_hash; max entries 1024, expected 5`),
    );
    expect(openFdCount()).toBe(before + 1);
    removePin(path);
    expect(existsSync(path)).toBe(false);
    expect(() => removePin(path)).toThrow(NotFoundError);
    removePin(path, { missingOk: true });
  });

  it('pins programs and refuses pins of the wrong kind', () => {
    const path = `${dir}/prog`;
    {
      using obj = load({ maps: { core_pinned: { create: false } } });
      obj.program('core_config_echo').pin(path);
    }
    using prog = Program.fromPinned(path, 'sched_cls');
    expect(prog.testRun({ data: ipv4Frame('10.0.0.1') }).returnValue).toBe(0);
    expect(() => Program.fromPinned(path, 'xdp')).toThrow(/program type sched_cls, expected xdp/);
    expect(() => BpfMap.fromPinned(path)).toThrow(/it is a program, not a map/);
    expect(() => Program.fromPinned(`${dir}/missing`)).toThrow(/open pinned program .*: bpf_obj_get: ENOENT/);
    expect(() => Program.fromPinned('relative/path')).toThrow(InvalidArgumentError);
    removePin(path);
  });

  it('reuses a pinned-by-name map across loads, keeping its entries', () => {
    {
      using first = load();
      expect(existsSync(`${dir}/core_pinned`)).toBe(true);
      TypedMap.wrap(first.map('core_pinned'), c.u32, c.u32).set(1, 111);
    }
    {
      using second = load();
      expect(TypedMap.wrap(second.map('core_pinned'), c.u32, c.u32).get(1)).toBe(111);
    }
    removePin(`${dir}/core_pinned`);
  });

  it('compares a pinned map with the configured maxEntries, not the compiled one', () => {
    {
      using first = load({ maps: { core_pinned: { maxEntries: 64 } } });
      expect(first.map('core_pinned').maxEntries).toBe(64);
      TypedMap.wrap(first.map('core_pinned'), c.u32, c.u32).set(2, 222);
    }
    {
      using second = load({ maps: { core_pinned: { maxEntries: 64 } } });
      expect(TypedMap.wrap(second.map('core_pinned'), c.u32, c.u32).get(2)).toBe(222);
    }
    expect(() => load()).toThrow(/max entries 64, expected 16/);
    removePin(`${dir}/core_pinned`);
  });

  it('refuses an incompatible pinned map, or replaces it when asked', () => {
    const path = `${dir}/core_pinned`;
    {
      using other = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
      other.pin(path);
    }
    const obj = BpfObject.open(fixturePath('core_maps'), { pinRoot: dir });
    expect(() => obj.load()).toThrow(new RegExp(`pinned object ${path} is incompatible: map core_pinned: max entries 4, expected 16`));
    expect(obj.state).toBe('opened');
    obj.load({ maps: { core_pinned: { ifPinIncompatible: 'replace' } } });
    using reopened = BpfMap.fromPinned(path);
    expect(reopened.maxEntries).toBe(16);
    expect(reopened.id).toBe(obj.map('core_pinned').id);
    obj.close();
    removePin(path);
  });

  it('pins any map at an explicit path, creating directories', () => {
    const path = `${dir}/nested/dir/routes`;
    {
      using obj = load({ maps: { core_pinned: { create: false }, core_routes: { pinPath: path } } });
      TypedMap.wrap(obj.map('core_routes'), c.ipv4Cidr, Route).set('10.0.0.0/8', {
        action: 5, gateway: '10.0.0.1', port: 1, flags: 0, cookie: 1n,
      });
    }
    {
      using obj = load({ maps: { core_pinned: { create: false }, core_routes: { pinPath: path } } });
      // the program of the new object uses the reused map
      expect(obj.program('core_classify').testRun({ data: ipv4Frame('10.1.1.1') }).returnValue).toBe(5);
    }
    removePin(path);
  });

  it('rejects bad pin paths before touching anything', () => {
    using obj = load({ maps: { core_pinned: { create: false } } });
    expect(() => obj.map('core_flows').pin('/tmp/cbpfa-x')).toThrow(/not on a bpf filesystem/);
    expect(() => obj.map('core_flows').pin('sys/fs/bpf/x')).toThrow(InvalidArgumentError);
    expect(() => obj.map('core_flows').pin(`${dir}/no/such/dir/x`)).toThrow(InvalidArgumentError);
    expect(() => BpfMap.fromPinned(`${dir}/nothing`)).toThrow(SyscallError);
    expect(() => removePin('/tmp/x')).toThrow(InvalidArgumentError);
    expect(() => removePin(dir)).toThrow(/is a directory, not a pinned object/);
    expect(() => load({ maps: { core_routes: { ifPinIncompatible: 'replace' } } })).toThrow(/needs a pinPath/);
    expect(() => BpfObject.open(fixturePath('core_maps'), { pinRoot: 'relative' })).toThrow(InvalidArgumentError);
  });
});
