/**
 * C structs with explicit padding. Fields are laid out in order at their natural alignment; a field
 * that would need hidden padding before it, or a struct that would need hidden tail padding, is
 * rejected at definition time, so the codec is exactly the C struct it mirrors.
 */
import { InvalidArgumentError } from '../errors.js';
import { type Codec, type CodecField, type CodecValue, type PaddingCodec, rejectValue } from './codec.js';

/** The value type of a struct codec: every non-padding field. */
export type StructValue<F extends Record<string, Codec<any>>> = {
  [K in keyof F as F[K] extends PaddingCodec ? never : K]: CodecValue<F[K]>;
};

export interface StructOptions {
  /** C member names for fields whose JavaScript name differs (by default fields match C members by name). */
  readonly cNames?: Readonly<Record<string, string>>;
}

function isPadding(codec: Codec<unknown>): codec is PaddingCodec {
  return (codec as Partial<PaddingCodec>).padding === true;
}

export function struct<F extends Record<string, Codec<any>>>(
  fields: F,
  options: StructOptions = {},
): Codec<StructValue<F>> {
  const entries = Object.entries(fields);
  if (entries.length === 0) throw new InvalidArgumentError('struct codec: needs at least one field');
  for (const name of Object.keys(options.cNames ?? {})) {
    if (!(name in fields)) throw new InvalidArgumentError(`struct codec: cNames names unknown field "${name}"`);
  }
  let offset = 0;
  let align = 1;
  const layoutFields: CodecField[] = [];
  const valueFields: Array<{ name: string; offset: number; codec: Codec<unknown> }> = [];
  for (const [name, codec] of entries) {
    if (!codec || typeof codec.encode !== 'function') {
      throw new InvalidArgumentError(`struct codec: field "${name}" is not a codec`);
    }
    if (offset % codec.align !== 0) {
      const need = codec.align - (offset % codec.align);
      throw new InvalidArgumentError(
        `struct codec: field "${name}" (${codec.description}, align ${codec.align}) would start at offset ${offset}; ` +
          `add pad(${need}) before it so the layout matches C`,
      );
    }
    layoutFields.push({ name, cName: options.cNames?.[name] ?? name, offset, layout: codec.layout });
    if (!isPadding(codec)) valueFields.push({ name, offset, codec });
    align = Math.max(align, codec.align);
    offset += codec.size;
  }
  if (offset % align !== 0) {
    const need = align - (offset % align);
    throw new InvalidArgumentError(
      `struct codec: size ${offset} is not a multiple of its alignment ${align}; add pad(${need}) at the end`,
    );
  }
  const size = offset;
  const known = new Set(valueFields.map((f) => f.name));
  let lastPath: string | undefined;
  let fieldPaths: string[] = [];
  const description = `struct{${entries.map(([n, c]) => `${n}:${c.description}`).join(',')}}`;
  return {
    size,
    align,
    layout: { kind: 'struct', size, fields: layoutFields },
    description,
    encode(value, target, base, path) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw rejectValue(path, `an object with fields ${[...known].join(', ')}`, value);
      }
      for (const key in value as object) {
        if (!known.has(key)) {
          throw new InvalidArgumentError(`${path}.${key}: unknown field; accepted are ${[...known].join(', ')}`);
        }
      }
      if (path !== lastPath) {
        // bulk encodes reuse one path: build the per-field paths once, not per value
        lastPath = path;
        fieldPaths = valueFields.map((f) => `${path}.${f.name}`);
      }
      target.fill(0, base, base + size);
      const record = value as Record<string, unknown>;
      for (let i = 0; i < valueFields.length; i++) {
        const f = valueFields[i];
        const v = record[f.name];
        if (v === undefined) throw rejectValue(fieldPaths[i], f.codec.description, undefined);
        f.codec.encode(v, target, base + f.offset, fieldPaths[i]);
      }
    },
    decode(source, base) {
      const out: Record<string, unknown> = {};
      for (const f of valueFields) out[f.name] = f.codec.decode(source, base + f.offset);
      return out as StructValue<F>;
    },
  };
}

function zeroCodec(kind: 'pad' | 'skip', size: number): PaddingCodec {
  if (!Number.isInteger(size) || size < 1 || size > 65536) {
    throw new InvalidArgumentError(`${kind}(${size}): size must be an integer 1..65536`);
  }
  return {
    size,
    align: 1,
    padding: true,
    layout: { kind, size },
    description: `${kind}(${size})`,
    encode(_value, target, offset) {
      target.fill(0, offset, offset + size);
    },
    decode() {
      return undefined;
    },
  };
}

/** Explicit padding (written as zeros). In a BTF check it may only cover holes or padding-named members. */
export function pad(size: number): PaddingCodec {
  return zeroCodec('pad', size);
}

/** Bytes left undecoded on purpose (written as zeros); in a BTF check they may cover any members. */
export function skip(size: number): PaddingCodec {
  return zeroCodec('skip', size);
}
