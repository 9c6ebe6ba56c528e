import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue } from '../../src/codec/codec.js';
import { be16, be32, be64, i16, i32, i64, i8, u16, u32, u64, u8 } from '../../src/codec/int-codecs.js';
import { InvalidArgumentError } from '../../src/errors.js';

describe('integer codecs', () => {
  it.each([
    [u8, 0xab, 'ab'],
    [u16, 0x1234, '3412'],
    [u32, 0x12345678, '78563412'],
    [i8, -1, 'ff'],
    [i16, -2, 'feff'],
    [i32, -2, 'feffffff'],
    [be16, 0x1234, '1234'],
    [be32, 0x0a000001, '0a000001'],
  ] as const)('%s encodes %s as %s', (codec, value, hex) => {
    const buf = encodeValue(codec as typeof u32, value);
    expect(buf.toString('hex')).toBe(hex);
    expect(decodeValue(codec as typeof u32, buf)).toBe(value);
  });

  it.each([
    [u64, 2n ** 64n - 1n, 'ffffffffffffffff'],
    [u64, 1n, '0100000000000000'],
    [i64, -1n, 'ffffffffffffffff'],
    [be64, 1n, '0000000000000001'],
  ] as const)('64-bit %s encodes %s', (codec, value, hex) => {
    const buf = encodeValue(codec, value);
    expect(buf.toString('hex')).toBe(hex);
    expect(decodeValue(codec, buf)).toBe(value);
  });

  it('accepts safe integers for 64-bit codecs and decodes bigint', () => {
    expect(decodeValue(u64, encodeValue(u64, 5 as unknown as bigint))).toBe(5n);
  });

  it.each([
    [u8, 256],
    [u8, -1],
    [u16, 1.5],
    [u32, 2 ** 32],
    [i32, 2 ** 31],
    [be16, '80'],
    [u32, Number.NaN],
    [u64, -1n],
    [u64, 2n ** 64n],
    [i64, 2n ** 63n],
    [u64, 2 ** 60],
  ] as const)('%s rejects %s with a clear error', (codec, value) => {
    const fn = () => encodeValue(codec as typeof u32, value as never, 'key.port');
    expect(fn).toThrow(InvalidArgumentError);
    expect(fn).toThrow(/^key\.port: expected /);
  });

  it('reports sizes and alignments like C', () => {
    expect([u8, u16, u32, u64, be16, be32, be64].map((c) => [c.size, c.align])).toEqual([
      [1, 1], [2, 2], [4, 4], [8, 8], [2, 2], [4, 4], [8, 8],
    ]);
    expect(i32.layout).toEqual({ kind: 'int', size: 4, signed: true });
  });
});
