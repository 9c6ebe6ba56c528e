/** Fixed-length arrays of a codec, raw byte arrays and NUL-padded C strings. */
import { InvalidArgumentError } from '../errors.js';
import { type Codec, rejectValue } from './codec.js';

export function array<T>(element: Codec<T>, count: number): Codec<T[]> {
  if (!Number.isInteger(count) || count < 1 || count > 65536) {
    throw new InvalidArgumentError(`array codec: count must be an integer 1..65536, got ${count}`);
  }
  const size = element.size * count;
  return {
    size,
    align: element.align,
    layout: { kind: 'array', size, count, element: element.layout },
    description: `${element.description}[${count}]`,
    encode(value, target, offset, path) {
      if (!Array.isArray(value) || value.length !== count) {
        throw rejectValue(path, `an array of ${count} ${element.description}`, value);
      }
      for (let i = 0; i < count; i++) element.encode(value[i], target, offset + i * element.size, `${path}[${i}]`);
    },
    decode(source, offset) {
      const out: T[] = [];
      for (let i = 0; i < count; i++) out.push(element.decode(source, offset + i * element.size));
      return out;
    },
  };
}

/** Exactly `size` raw bytes (a C `__u8 x[size]` or any opaque blob). Decodes to a copy. */
export function bytes(size: number, align = 1): Codec<Uint8Array> {
  if (!Number.isInteger(size) || size < 1 || size > 1 << 20) {
    throw new InvalidArgumentError(`bytes codec: size must be an integer 1..${1 << 20}, got ${size}`);
  }
  if (![1, 2, 4, 8].includes(align)) throw new InvalidArgumentError(`bytes codec: align must be 1, 2, 4 or 8`);
  return {
    size,
    align,
    layout: { kind: 'bytes', size },
    description: `bytes(${size})`,
    encode(value, target, offset, path) {
      if (!(value instanceof Uint8Array) || value.length !== size) {
        throw rejectValue(path, `a Uint8Array of exactly ${size} bytes`, value);
      }
      target.set(value, offset);
    },
    decode(source, offset) {
      return new Uint8Array(source.subarray(offset, offset + size));
    },
  };
}

/** A C `char name[size]`: UTF-8 text of at most size-1 bytes, NUL-padded. */
export function cstring(size: number): Codec<string> {
  if (!Number.isInteger(size) || size < 2 || size > 65536) {
    throw new InvalidArgumentError(`cstring codec: size must be an integer 2..65536, got ${size}`);
  }
  return {
    size,
    align: 1,
    layout: { kind: 'bytes', size },
    description: `cstring(${size})`,
    encode(value, target, offset, path) {
      const len = typeof value === 'string' ? Buffer.byteLength(value) : -1;
      if (len < 0 || len > size - 1 || value.includes('\0')) {
        throw rejectValue(path, `a string of at most ${size - 1} UTF-8 bytes without NUL`, value);
      }
      target.fill(0, offset, offset + size);
      target.write(value, offset, 'utf8');
    },
    decode(source, offset) {
      const end = source.indexOf(0, offset);
      return source.toString('utf8', offset, end < 0 || end > offset + size ? offset + size : end);
    },
  };
}
