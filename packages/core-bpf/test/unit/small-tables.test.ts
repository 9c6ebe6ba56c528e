import { describe, expect, it } from 'vitest';
import type { BtfVariable } from '../../src/btf/btf.js';
import { errnoName, InvalidArgumentError, SyscallError, VerifierError } from '../../src/errors.js';
import { mapDifferences } from '../../src/map-compat.js';
import { isArrayMapType, isPerCpuMapType, mapTypeName, mapTypeNumber } from '../../src/map-type.js';
import { writeConstant } from '../../src/object-constants.js';
import { programTypeName } from '../../src/program-type.js';
import { failedProgramFromLines, logText, summarizeLibbpfLines } from '../../src/verifier-log.js';

describe('map and program types', () => {
  it.each([
    [1, 'hash'], [2, 'array'], [6, 'percpu_array'], [11, 'lpm_trie'], [15, 'sockmap'], [18, 'sockhash'],
    [27, 'ringbuf'], [999, 'unknown_999'],
  ])('map type %i is %s', (n, name) => expect(mapTypeName(n)).toBe(name));

  it('maps names back to numbers and rejects unknown names', () => {
    expect(mapTypeNumber('lru_hash')).toBe(9);
    expect(() => mapTypeNumber('hashmap')).toThrow(/unknown map type "hashmap": accepted are hash, array/);
    expect(() => mapTypeNumber('unspec')).toThrow(InvalidArgumentError);
  });

  it('classifies per-CPU and array maps', () => {
    expect(['percpu_hash', 'lru_percpu_hash', 'hash'].map((t) => isPerCpuMapType(t as never))).toEqual([true, true, false]);
    expect(['array', 'percpu_array', 'hash'].map((t) => isArrayMapType(t as never))).toEqual([true, true, false]);
  });

  it.each([
    [3, 'sched_cls'], [8, 'cgroup_skb'], [13, 'sock_ops'], [18, 'cgroup_sock_addr'], [30, 'sk_lookup'], [77, 'unknown_77'],
  ])('program type %i is %s', (n, name) => expect(programTypeName(n)).toBe(name));
});

describe('mapDifferences', () => {
  const shape = { type: 'hash' as const, keySize: 8, valueSize: 16, maxEntries: 10, flags: 1 };
  it('lists every difference', () => {
    expect(mapDifferences(shape, { type: 'lru_hash', keySize: 8, valueSize: 12, flags: 0 })).toEqual([
      'type hash, expected lru_hash', 'value size 16, expected 12', 'flags 0x1, expected 0x0',
    ]);
    expect(mapDifferences(shape, {})).toEqual([]);
  });
});

describe('verifier log helpers', () => {
  it('finds the failed program in libbpf lines', () => {
    expect(failedProgramFromLines(["prog 'core_x': BPF program load failed: Permission denied", 'failed to load object'])).toBe('core_x');
    expect(failedProgramFromLines(["prog 'a_b': failed to load: -22"])).toBe('a_b');
    expect(failedProgramFromLines(['map x: failed to create'])).toBeUndefined();
  });

  it('reads the C string of a log buffer', () => {
    const buf = Buffer.alloc(16);
    buf.write('abc\n');
    expect(logText(buf)).toBe('abc\n');
    expect(logText(Buffer.from('full'))).toBe('full');
  });

  it('summarizes libbpf lines', () => {
    expect(summarizeLibbpfLines(['loading object x', 'a', 'b', 'c', 'd', 'e'], 2)).toBe('d; e');
    expect(summarizeLibbpfLines([])).toBeUndefined();
  });
});

describe('errors', () => {
  it('names errno values, including the kernel-only ENOTSUPP', () => {
    expect(errnoName(-13)).toBe('EACCES');
    expect(errnoName(524)).toBe('ENOTSUPP');
    expect(errnoName(4242)).toBe('errno 4242');
  });

  it('builds messages with context and libbpf detail', () => {
    const e = new SyscallError('bpf_object__load', -22, 'load x.o', "map 'm': failed to create");
    expect(e.message).toBe("load x.o: bpf_object__load: EINVAL (map 'm': failed to create)");
    expect([e.code, e.errno, e.call]).toEqual(['ERR_BPF_SYSCALL', 'EINVAL', 'bpf_object__load']);
    expect(new VerifierError('p', 'a\nb\nc\nd\n', 'EACCES').message).toBe('load program p: verifier rejected it (EACCES): b | c | d');
  });
});

describe('writeConstant', () => {
  const v = (type: BtfVariable['type'], offset = 0, size = type.size): BtfVariable => ({ name: 'x', offset, size, type });
  it('encodes integers, booleans and bytes at the variable offset', () => {
    const target = new Uint8Array(8);
    writeConstant(v({ kind: 'int', name: '__u32', size: 4, signed: false }, 4), 0x01020304, target);
    expect(Buffer.from(target).toString('hex')).toBe('0000000004030201');
    writeConstant(v({ kind: 'int', name: 'bool', size: 1, signed: false }), true, target);
    expect(target[0]).toBe(1);
    writeConstant(v({ kind: 'int', name: 'int', size: 4, signed: true }), -2, target);
    expect(Buffer.from(target.subarray(0, 4)).toString('hex')).toBe('feffffff');
    writeConstant(v({ kind: 'array', name: '', size: 2, count: 2, element: { kind: 'int', name: 'char', size: 1, signed: true } }, 6), Uint8Array.from([7, 8]), target);
    expect([target[6], target[7]]).toEqual([7, 8]);
  });

  it.each([
    [{ kind: 'int', name: '__u8', size: 1, signed: false }, 256, /outside 0\.\.255/],
    [{ kind: 'int', name: '__s8', size: 1, signed: true }, -129, /outside -128\.\.127/],
    [{ kind: 'int', name: '__u32', size: 4, signed: false }, 1.5, /expected an integer/],
    [{ kind: 'struct', name: 's', size: 4, members: [] }, 1, /pass 4 bytes as a Uint8Array/],
    [{ kind: 'int', name: '__u32', size: 4, signed: false }, new Uint8Array(3), /needs 4 bytes, got 3/],
  ] as const)('rejects %j = %s', (type, value, message) => {
    expect(() => writeConstant(v(type as never), value as never, new Uint8Array(8))).toThrow(message);
  });
});
