/**
 * A uapi enum (map types, program types) spelled by name: a name's number is its position in the
 * table, `unspec` (0) first, as the kernel numbers them. Pure.
 */
import { InvalidArgumentError } from './errors.js';

export interface KernelEnum<N extends string> {
  /** Number of every known name. */
  readonly numbers: ReadonlyMap<N, number>;
  /** The name of a kernel number; numbers newer than the table are `unknown_<number>`. */
  name(kernelNumber: number): N | `unknown_${number}`;
  /** The number of a known name other than unspec; InvalidArgumentError otherwise. */
  number(name: string): number;
}

export function kernelEnum<const N extends string>(what: string, names: readonly N[]): KernelEnum<N> {
  const numbers = new Map(names.map((n, i) => [n, i]));
  return {
    numbers,
    name: (kernelNumber) => names[kernelNumber] ?? `unknown_${kernelNumber}`,
    number(name) {
      const n = numbers.get(name as N);
      if (n === undefined || n === 0) {
        throw new InvalidArgumentError(`unknown ${what} "${name}": accepted are ${names.slice(1).join(', ')}`);
      }
      return n;
    },
  };
}
