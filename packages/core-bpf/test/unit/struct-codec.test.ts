import { describe, expect, it } from 'vitest';
import { array, bytes, cstring } from '../../src/codec/array-codecs.js';
import { decodeValue, encodeValue } from '../../src/codec/codec.js';
import { be16, u16, u32, u64, u8 } from '../../src/codec/int-codecs.js';
import { ipv4 } from '../../src/codec/net-codecs.js';
import { perCpuCodec } from '../../src/codec/per-cpu-codec.js';
import { pad, skip, struct } from '../../src/codec/struct-codec.js';
import { InvalidArgumentError } from '../../src/errors.js';

const Route = struct({ action: u32, gateway: ipv4, port: be16, flags: u8, pad: pad(1), pad2: pad(4), cookie: u64 });

describe('struct codec', () => {
  it('lays fields out like C with explicit padding', () => {
    expect(Route.size).toBe(24);
    expect(Route.align).toBe(8);
    expect(Route.layout.kind === 'struct' && Route.layout.fields.map((f) => [f.name, f.offset])).toEqual([
      ['action', 0], ['gateway', 4], ['port', 8], ['flags', 10], ['pad', 11], ['pad2', 12], ['cookie', 16],
    ]);
  });

  it('round-trips values and zeroes padding', () => {
    const value = { action: 2, gateway: '10.0.0.1', port: 443, flags: 3, cookie: 7n };
    const target = Buffer.alloc(24, 0xee);
    Route.encode(value, target, 0, 'value');
    expect(target.toString('hex')).toBe('020000000a00000101bb030000000000' + '0700000000000000');
    expect(decodeValue(Route, target)).toEqual(value);
  });

  it('refuses hidden padding and tells what to add', () => {
    expect(() => struct({ a: u8, b: u32 })).toThrow(/field "b" \(u32, align 4\) would start at offset 1; add pad\(3\)/);
    expect(() => struct({ a: u32, b: u8 })).toThrow(/size 5 is not a multiple of its alignment 4; add pad\(3\) at the end/);
    expect(() => struct({})).toThrow(InvalidArgumentError);
    expect(() => struct({ a: 5 as never })).toThrow(/field "a" is not a codec/);
    expect(() => struct({ a: u32 }, { cNames: { b: 'x' } })).toThrow(/unknown field "b"/);
  });

  it.each([
    ['null', null, /value: expected an object/],
    ['a missing field', { action: 1, gateway: '10.0.0.1', port: 1, flags: 0 }, /value\.cookie: expected u64, got undefined/],
    ['an extra field', { action: 1, gateway: '10.0.0.1', port: 1, flags: 0, cookie: 1n, extra: 1 }, /value\.extra: unknown field; accepted are action, gateway, port, flags, cookie/],
    ['a bad address', { action: 1, gateway: '10.0.0.256', port: 1, flags: 0, cookie: 1n }, /value\.gateway: expected an IPv4 address/],
  ])('rejects %s', (_label, value, message) => {
    expect(() => encodeValue(Route, value as never)).toThrow(message);
  });

  it('nests structs and arrays with paths in errors', () => {
    const Outer = struct({ ports: array(u16, 2), inner: struct({ x: u32 }), name: cstring(8), raw: bytes(4) });
    const v = { ports: [1, 2], inner: { x: 3 }, name: 'eth0', raw: Uint8Array.from([1, 2, 3, 4]) };
    expect(decodeValue(Outer, encodeValue(Outer, v))).toEqual(v);
    expect(Outer.size).toBe(4 + 4 + 8 + 4);
    expect(() => encodeValue(Outer, { ...v, ports: [1, 70000] })).toThrow(/^value\.ports\[1\]: expected an integer 0\.\.65535/);
    expect(() => encodeValue(Outer, { ...v, name: 'too-long-name' })).toThrow(/value\.name: expected a string of at most 7/);
    expect(() => encodeValue(Outer, { ...v, raw: new Uint8Array(3) })).toThrow(/value\.raw: expected a Uint8Array of exactly 4 bytes/);
  });

  it('keeps skip() and pad() out of values', () => {
    const S = struct({ a: u32, _r: skip(4) });
    expect(decodeValue(S, Buffer.from('0100000002000000', 'hex'))).toEqual({ a: 1 });
    expect(() => pad(0)).toThrow(InvalidArgumentError);
  });

  it('lays out per-CPU values in 8-byte slots', () => {
    const c = perCpuCodec(u32, 3);
    expect(c.size).toBe(24);
    const buf = encodeValue(c, [1, 2, 3]);
    expect(buf.toString('hex')).toBe('010000000000000002000000000000000300000000000000');
    expect(decodeValue(c, buf)).toEqual([1, 2, 3]);
    expect(() => encodeValue(c, [1, 2])).toThrow(/an array of 3 values \(one per possible cpu\)/);
  });
});
