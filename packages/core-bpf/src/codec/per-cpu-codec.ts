/** The user-space layout of per-CPU map values: one slot per possible CPU, each rounded up to 8 bytes. */
import { type Codec, rejectValue } from './codec.js';

export function perCpuCodec<T>(element: Codec<T>, cpus: number): Codec<T[]> {
  const stride = Math.ceil(element.size / 8) * 8;
  const size = stride * cpus;
  return {
    size,
    align: 8,
    layout: { kind: 'bytes', size },
    description: `percpu(${element.description} x ${cpus})`,
    encode(value, target, offset, path) {
      if (!Array.isArray(value) || value.length !== cpus) {
        throw rejectValue(path, `an array of ${cpus} values (one per possible cpu)`, value);
      }
      for (let i = 0; i < cpus; i++) element.encode(value[i], target, offset + i * stride, `${path}[${i}]`);
    },
    decode(source, offset) {
      const out: T[] = [];
      for (let i = 0; i < cpus; i++) out.push(element.decode(source, offset + i * stride));
      return out;
    },
  };
}
