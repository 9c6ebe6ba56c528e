/**
 * A codec turns a JavaScript value into the exact bytes of a C type and back. Every codec knows its
 * size, its C alignment and its layout, so typed maps can check it against the kernel map's sizes and
 * against the object's BTF (see btf/layout-check.ts).
 */
import { InvalidArgumentError } from '../errors.js';

/** The shape of a codec, as far as the BTF layout check is concerned. */
export type CodecLayout =
  | { readonly kind: 'int'; readonly size: number; readonly signed: boolean }
  /** Opaque bytes (addresses, strings, raw buffers): checked by size only. */
  | { readonly kind: 'bytes'; readonly size: number }
  /** Explicit padding: may only cover holes or padding-named members in the C type. */
  | { readonly kind: 'pad'; readonly size: number }
  /** Bytes deliberately left undecoded: may cover any members. */
  | { readonly kind: 'skip'; readonly size: number }
  | { readonly kind: 'array'; readonly size: number; readonly count: number; readonly element: CodecLayout }
  | { readonly kind: 'struct'; readonly size: number; readonly fields: readonly CodecField[] };

export interface CodecField {
  /** The JavaScript property name. */
  readonly name: string;
  /** The C member name it is matched with (defaults to the property name). */
  readonly cName: string;
  readonly offset: number;
  readonly layout: CodecLayout;
}

export interface Codec<T> {
  /** Size in bytes, as C's sizeof. */
  readonly size: number;
  /** Alignment in bytes, as C's _Alignof. */
  readonly align: number;
  readonly layout: CodecLayout;
  /** Short human description, used in error messages ("u32", "ipv4", "struct{...}"). */
  readonly description: string;
  /** Write `value` at `offset`; throws InvalidArgumentError naming `path` when the value is not accepted. */
  encode(value: T, target: Buffer, offset: number, path: string): void;
  decode(source: Buffer, offset: number): T;
}

/** Codecs that hold no value (padding, skipped bytes); struct values leave them out. */
export interface PaddingCodec extends Codec<undefined> {
  readonly padding: true;
}

/** The JavaScript type a codec encodes. */
export type CodecValue<C> = C extends Codec<infer T> ? T : never;

/** Encode a value into a new zero-filled buffer of the codec's size. */
export function encodeValue<T>(codec: Codec<T>, value: T, path = 'value'): Buffer {
  const buf = Buffer.alloc(codec.size);
  codec.encode(value, buf, 0, path);
  return buf;
}

/** Decode a value from the start of a buffer (which must hold at least `codec.size` bytes). */
export function decodeValue<T>(codec: Codec<T>, source: Uint8Array): T {
  const buf = Buffer.isBuffer(source) ? source : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  if (buf.length < codec.size) {
    throw new InvalidArgumentError(`decode ${codec.description}: need ${codec.size} bytes, got ${buf.length}`);
  }
  return codec.decode(buf, 0);
}

/** The error every codec throws for a value it does not accept. */
export function rejectValue(path: string, expected: string, got: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${path}: expected ${expected}, got ${show(got)}`);
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  return 'an object';
}
