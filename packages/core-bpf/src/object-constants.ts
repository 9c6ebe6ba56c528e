/**
 * Read-only constants of an opened object (`const volatile` globals in .rodata), set before load so
 * the verifier sees them as constants. Values are checked against each variable's BTF type.
 */
import { type BtfLayout, btfTypeName } from './btf/btf-layout.js';
import type { BtfVariable } from './btf/btf.js';
import { InvalidArgumentError } from './errors.js';

export type ConstantValue = number | bigint | boolean | Uint8Array;

/** Encode `value` for `variable` into `target` (the section's bytes); throws InvalidArgumentError. */
export function writeConstant(variable: BtfVariable, value: ConstantValue, target: Uint8Array): void {
  const where = `constant ${variable.name} (${btfTypeName(variable.type)})`;
  const bytes = encodeConstant(variable.type, variable.size, value, where);
  if (variable.offset + bytes.length > target.length) {
    throw new InvalidArgumentError(`${where}: lies outside the .rodata section`);
  }
  target.set(bytes, variable.offset);
}

function encodeConstant(type: BtfLayout, size: number, value: ConstantValue, where: string): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== size) throw new InvalidArgumentError(`${where}: needs ${size} bytes, got ${value.length}`);
    return value;
  }
  if (type.kind !== 'int' && type.kind !== 'enum') {
    throw new InvalidArgumentError(`${where}: only integer, enum and bool constants take numbers; pass ${size} bytes as a Uint8Array`);
  }
  const signed = type.kind === 'int' && type.signed;
  let v: bigint;
  if (typeof value === 'boolean') v = value ? 1n : 0n;
  else if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
  else throw new InvalidArgumentError(`${where}: expected an integer, bigint or boolean, got ${String(value)}`);
  const bits = BigInt(size * 8);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (v < min || v > max) throw new InvalidArgumentError(`${where}: ${v} is outside ${min}..${max}`);
  const out = Buffer.alloc(size);
  const u = v < 0n ? v + (1n << bits) : v;
  for (let i = 0; i < size; i++) out[i] = Number((u >> BigInt(i * 8)) & 0xffn); // little-endian host
  return out;
}
