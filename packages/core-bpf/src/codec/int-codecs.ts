/** Fixed-width integers in host order (u8..i64) and network order (be16, be32, be64). */
import { endianness } from 'node:os';
import { type Codec, rejectValue } from './codec.js';

const hostLittleEndian = endianness() === 'LE';

function intCodec(size: 1 | 2 | 4, signed: boolean, bigEndian: boolean, name: string): Codec<number> {
  const bits = size * 8;
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const le = !bigEndian && hostLittleEndian;
  return {
    size,
    align: size,
    layout: { kind: 'int', size, signed },
    description: name,
    encode(value, target, offset, path) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw rejectValue(path, `an integer ${min}..${max} (${name})`, value);
      }
      if (signed) {
        if (le) target.writeIntLE(value, offset, size);
        else target.writeIntBE(value, offset, size);
      } else if (le) target.writeUIntLE(value, offset, size);
      else target.writeUIntBE(value, offset, size);
    },
    decode(source, offset) {
      if (signed) return le ? source.readIntLE(offset, size) : source.readIntBE(offset, size);
      return le ? source.readUIntLE(offset, size) : source.readUIntBE(offset, size);
    },
  };
}

function int64Codec(signed: boolean, bigEndian: boolean, name: string): Codec<bigint> {
  const min = signed ? -(2n ** 63n) : 0n;
  const max = signed ? 2n ** 63n - 1n : 2n ** 64n - 1n;
  const le = !bigEndian && hostLittleEndian;
  return {
    size: 8,
    align: 8,
    layout: { kind: 'int', size: 8, signed },
    description: name,
    encode(value, target, offset, path) {
      let v: bigint;
      if (typeof value === 'bigint') v = value;
      else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
      else throw rejectValue(path, `a bigint ${min}..${max} (${name})`, value);
      if (v < min || v > max) throw rejectValue(path, `a bigint ${min}..${max} (${name})`, value);
      if (signed) {
        if (le) target.writeBigInt64LE(v, offset);
        else target.writeBigInt64BE(v, offset);
      } else if (le) target.writeBigUInt64LE(v, offset);
      else target.writeBigUInt64BE(v, offset);
    },
    decode(source, offset) {
      if (signed) return le ? source.readBigInt64LE(offset) : source.readBigInt64BE(offset);
      return le ? source.readBigUInt64LE(offset) : source.readBigUInt64BE(offset);
    },
  };
}

export const u8 = intCodec(1, false, false, 'u8');
export const u16 = intCodec(2, false, false, 'u16');
export const u32 = intCodec(4, false, false, 'u32');
export const u64 = int64Codec(false, false, 'u64');
export const i8 = intCodec(1, true, false, 'i8');
export const i16 = intCodec(2, true, false, 'i16');
export const i32 = intCodec(4, true, false, 'i32');
export const i64 = int64Codec(true, false, 'i64');
/** Network byte order (`__be16`), e.g. ports. */
export const be16 = intCodec(2, false, true, 'be16');
/** Network byte order (`__be32`). */
export const be32 = intCodec(4, false, true, 'be32');
/** Network byte order (`__be64`). */
export const be64 = int64Codec(false, true, 'be64');
