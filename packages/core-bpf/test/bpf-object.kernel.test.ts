// BpfObject lifecycle on real fixtures: open/inspect, load options (all validated before anything
// changes), .rodata constants, verifier log capture, program info and test runs, closing.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject } from '../src/bpf-object.js';
import { ClosedError, InvalidArgumentError, NotFoundError, PinIncompatibleError, SyscallError, VerifierError } from '../src/errors.js';
import { onLibbpfLog } from '../src/ffi/libbpf-log.js';
import { nativeProgram, Program } from '../src/program.js';
import { TypedMap } from '../src/typed-map.js';
import { codecs as c } from '../src/codecs.js';
import { fixturePath, ipv4Frame, makePinDir, removePinDir, Route } from './support/core-maps-fixture.js';
import { openFdCount, unique } from './support/lab.js';

const execFileAsync = promisify(execFile);

let pinDir: string | undefined;
afterAll(() => removePinDir(pinDir));

/** Load core_maps without creating its pinned-by-name map (no pin root needed). */
function loadCoreMaps(extra: Parameters<BpfObject['load']>[0] = {}): BpfObject {
  const obj = BpfObject.open(fixturePath('core_maps'));
  try {
    obj.load({ ...extra, maps: { core_pinned: { create: false }, ...extra.maps } });
  } catch (err) {
    obj.close();
    throw err;
  }
  return obj;
}

describe('BpfObject', () => {
  it('describes programs and maps after open, before anything is created', () => {
    using obj = BpfObject.open(fixturePath('core_maps'));
    expect(obj.state).toBe('opened');
    expect(obj.name).toBe('core_maps');
    expect(obj.programSpecs()).toEqual([
      { name: 'core_classify', sectionName: 'tc', type: 'sched_cls', autoload: true },
      { name: 'core_config_echo', sectionName: 'tc', type: 'sched_cls', autoload: true },
    ]);
    const maps = Object.fromEntries(obj.mapSpecs().map((m) => [m.name, m]));
    expect(maps.core_routes).toMatchObject({ type: 'lpm_trie', keySize: 8, valueSize: 24, maxEntries: 256, flags: 1, internal: false });
    expect(maps.core_pinned.pinPath).toBe('/sys/fs/bpf/core_pinned');
    expect(Object.values(maps).filter((m) => m.internal).map((m) => m.name).sort()).toEqual(['core_map.bss', 'core_map.rodata']);
    expect(() => obj.map('core_routes')).toThrow(/not loaded yet \(call load\(\)\)/);
  });

  it('loads, sets .rodata constants and runs programs on test packets', () => {
    using obj = loadCoreMaps({ constants: { core_default_action: 7 } });
    expect(obj.state).toBe('loaded');
    const classify = obj.program('core_classify');
    expect(classify.testRun({ data: ipv4Frame('10.1.2.3') }).returnValue).toBe(7);
    const routes = TypedMap.wrap(obj.map('core_routes'), c.ipv4Cidr, Route);
    routes.set('10.1.0.0/16', { action: 3, gateway: '10.0.0.254', port: 0, flags: 0, cookie: 0xabcdn });
    expect(classify.testRun({ data: ipv4Frame('10.1.2.3') }).returnValue).toBe(3);
    expect(classify.testRun({ data: ipv4Frame('10.2.0.1'), repeat: 100 }).returnValue).toBe(7);
    // the program wrote the route's cookie into .bss
    const bss = obj.map('core_map.bss');
    expect(bss.lookup(Buffer.alloc(4))?.readBigUInt64LE(0)).toBe(0xabcdn);
    const info = classify.info();
    expect(info).toMatchObject({ type: 'sched_cls', name: 'core_classify', mapCount: 5 });
    expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(info.verifiedInstructions).toBeGreaterThan(10);
  });

  it('opens from bytes as from a file, and releases them on close', () => {
    const before = openFdCount();
    {
      using obj = BpfObject.open(readFileSync(fixturePath('core_maps')), { name: 'core_maps_mem' });
      expect(obj.name).toBe('core_maps_mem');
      obj.load({ maps: { core_pinned: { create: false } } });
      expect(obj.program('core_classify').testRun({ data: ipv4Frame('10.1.2.3') }).returnValue).toBe(0);
    }
    expect(openFdCount()).toBe(before);
    expect(() => BpfObject.open(new Uint8Array(0))).toThrow(InvalidArgumentError);
    expect(() => BpfObject.open(new Uint8Array([1, 2, 3, 4]))).toThrow(/bpf_object__open_mem/);
  });

  it('keeps every verifier log with logLevel 1', () => {
    using obj = loadCoreMaps({ logLevel: 1, logSize: 64 * 1024 });
    expect(obj.program('core_classify').verifierLog).toMatch(/processed \d+ insns/);
    expect(obj.program('core_config_echo').verifierLog).toMatch(/processed \d+ insns/);
  });

  it('reports a rejected program with its whole verifier log', () => {
    const obj = BpfObject.open(fixturePath('core_bad'));
    let error: unknown;
    try {
      obj.load();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(VerifierError);
    const v = error as VerifierError;
    expect(v.code).toBe('ERR_BPF_VERIFIER');
    expect(v.program).toBe('core_unchecked_read');
    expect(v.log).toMatch(/invalid access to packet/);
    // whole: from the first instruction to the verifier's closing count (also on the kernel matrix's 6.1)
    expect(v.log).toMatch(/^0: /m);
    expect(v.log).toMatch(/processed \d+ insns/);
    expect(v.message).toMatch(/^load program core_unchecked_read: verifier rejected it \(EACCES\): /);
    expect(obj.state).toBe('closed'); // a failed load cannot be retried: the object is released
  });

  it('loads only the programs asked for', () => {
    using obj = BpfObject.open(fixturePath('core_bad'));
    obj.load({ programs: { core_unchecked_read: { autoload: false } } });
    expect(obj.program('core_good').testRun({ data: ipv4Frame('10.0.0.1') }).returnValue).toBe(0);
    expect(() => obj.program('core_unchecked_read')).toThrow(/was not loaded \(autoload: false\)/);
    expect(() => obj.program('nope')).toThrow(NotFoundError);
  });

  it('truncates a log that does not fit and says so', () => {
    const obj = BpfObject.open(fixturePath('core_bad'));
    try {
      obj.load({ logSize: 128 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(VerifierError);
      expect((err as VerifierError).log).toMatch(/log truncated: raise logSize/);
    }
  });

  it.each([
    ['an unknown map', { maps: { nope: { maxEntries: 1 } } }, NotFoundError, /map nope in core_maps\.bpf\.o \(maps: core_counters, /],
    ['an unknown program', { programs: { nope: { autoload: false } } }, NotFoundError, /program nope in core_maps\.bpf\.o/],
    ['a bad max entries', { maps: { core_routes: { maxEntries: 0 } } }, InvalidArgumentError, /maps\.core_routes\.maxEntries must be an integer 1\.\./],
    ['an unknown map option', { maps: { core_routes: { size: 1 } } }, InvalidArgumentError, /maps\.core_routes\.size is unknown/],
    ['a pin path off bpffs', { maps: { core_routes: { pinPath: '/tmp/x' } } }, InvalidArgumentError, /\/tmp is not on a bpf filesystem/],
    ['an unknown constant', { constants: { nope: 1 } }, InvalidArgumentError, /constant nope is not a \.rodata variable \(variables: core_default_action\)/],
    ['a constant out of range', { constants: { core_default_action: -1 } }, InvalidArgumentError, /core_default_action \(__u32\): -1 is outside 0\.\.4294967295/],
    ['a bad log level', { logLevel: 3 }, InvalidArgumentError, /logLevel must be 0, 1 or 2/],
    ['a tiny log', { logSize: 10 }, InvalidArgumentError, /logSize must be an integer 128\.\./],
  ])('rejects %s and changes nothing', (_label, options, type, message) => {
    using obj = BpfObject.open(fixturePath('core_maps'));
    const before = obj.mapSpecs();
    // valid settings listed before the bad one must not be applied either
    const opts = { ...options, maps: { core_config: { maxEntries: 99 }, ...(options as { maps?: object }).maps } } as never;
    expect(() => obj.load(opts)).toThrow(type);
    expect(() => obj.load(opts)).toThrow(message);
    expect(obj.state).toBe('opened');
    expect(obj.mapSpecs()).toEqual(before);
    obj.load({ maps: { core_pinned: { create: false } } }); // still loadable
    expect(obj.map('core_config').maxEntries).toBe(8);
  });

  it('resizes maps before load', () => {
    using obj = loadCoreMaps({ maps: { core_flows: { maxEntries: 4096 } } });
    expect(obj.map('core_flows').maxEntries).toBe(4096);
    expect(obj.maps().map((m) => m.name)).not.toContain('core_pinned');
    expect(() => obj.map('core_pinned')).toThrow(/was not created \(create: false\)/);
  });

  it('explains open failures with libbpf\'s words', () => {
    expect(() => BpfObject.open('/nonexistent/x.o')).toThrow(NotFoundError);
    const junk = `${tmpdir()}/${unique('junk')}.o`;
    writeFileSync(junk, 'not an elf file');
    try {
      const err = (() => {
        try {
          BpfObject.open(junk);
        } catch (e) {
          return e as SyscallError;
        }
      })();
      expect(err).toBeInstanceOf(SyscallError);
      expect(err?.call).toBe('bpf_object__open_file');
      expect(err?.detail).toMatch(/elf/i);
    } finally {
      rmSync(junk, { force: true });
    }
    expect(() => BpfObject.open(fixturePath('core_maps'), { pinRoot: '/tmp' })).toThrow(/pin root .*not on a bpf filesystem/);
  });

  it('refuses a pin of the wrong kind before creating anything', () => {
    // the pinned-by-name map wants <pin root>/core_pinned; a program pinned there is not a map
    pinDir = makePinDir();
    using holder = loadCoreMaps();
    holder.program('core_config_echo').pin(`${pinDir}/core_pinned`);
    const obj = BpfObject.open(fixturePath('core_maps'), { pinRoot: pinDir });
    expect(() => obj.load()).toThrow(PinIncompatibleError);
    expect(obj.state).toBe('opened');
    expect(() => obj.load({ maps: { core_pinned: { ifPinIncompatible: 'fail' } } })).toThrow(
      new RegExp(`pinned object ${pinDir}/core_pinned is incompatible: map core_pinned: it is not a map`),
    );
    obj.close();
  });

  it('closes everything it owns and refuses use after close', () => {
    const before = openFdCount();
    const obj = loadCoreMaps();
    const map = obj.map('core_routes');
    const prog = obj.program('core_classify');
    expect(openFdCount()).toBeGreaterThan(before);
    obj.close();
    obj.close();
    expect(openFdCount()).toBe(before);
    expect(() => map.lookup(Buffer.alloc(8))).toThrow(ClosedError);
    expect(() => prog.testRun()).toThrow(/program core_classify \(owned by object core_maps\.bpf\.o\) is closed/);
    expect(() => obj.programSpecs()).toThrow(ClosedError);
  });

  it('forwards libbpf messages to listeners', () => {
    const seen: string[] = [];
    const off = onLibbpfLog((level, message) => seen.push(`${level}: ${message}`));
    try {
      BpfObject.open(fixturePath('core_maps')).close();
    } finally {
      off();
    }
    expect(seen.some((l) => /core_maps/.test(l))).toBe(true);
  });

  it('opens programs by id', () => {
    using obj = loadCoreMaps();
    using again = Program.fromId(obj.program('core_config_echo').info().id);
    expect(again.name).toBe('core_config_ech'); // the kernel keeps 15 characters
    expect(again.type).toBe('sched_cls');
    expect(again.sectionName).toBeUndefined();
    expect(again.testRun({ data: ipv4Frame('10.0.0.1') }).returnValue).toBe(0);
    expect(typeof nativeProgram(obj.program('core_config_echo'))).toBe('bigint');
    expect(nativeProgram(again)).toBeNull();
  });
});

describe('BpfObject.load interrupted by signals', () => {
  it('says the verifier was interrupted (EAGAIN), not that it rejected the program', async () => {
    // a program whose verification takes long enough for a profiler's 50 µs timer signals to hit every
    // one of libbpf's attempts: the repo's tc_tproxy object (built by `make -C bpf`, as for every kernel test)
    const object = new URL('../../../bpf/build/tc_tproxy.bpf.o', import.meta.url).pathname;
    const hooks = new URL('./support/ts-hooks.mjs', import.meta.url).pathname;
    const script = new URL('./support/children/interrupted-load.ts', import.meta.url).pathname;
    const profiles = mkdtempSync(join(tmpdir(), 'bpfsteer-prof-'));
    try {
      const { stdout } = await execFileAsync(
        process.execPath,
        ['--no-warnings', '--import', hooks, '--cpu-prof', `--cpu-prof-dir=${profiles}`, '--cpu-prof-interval=50', script, object],
        { timeout: 60_000 },
      );
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { name?: string; message?: string; loaded?: boolean };
      expect(result.loaded).toBeUndefined();
      expect(result.name).toBe('SyscallError');
      expect(result.message).toMatch(/interrupted by signals on every attempt \(not a rejection/);
      expect(result.message).toMatch(/EAGAIN/);
      expect(result.message).not.toMatch(/verifier rejected/);
    } finally {
      rmSync(profiles, { recursive: true, force: true });
    }
  });
});
