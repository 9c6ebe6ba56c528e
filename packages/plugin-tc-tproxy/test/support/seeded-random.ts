/**
 * Test support: a small deterministic pseudo-random generator, so that a randomized test run can be
 * repeated exactly from its seed (a 32-bit counter stepped by the golden ratio, each step mixed with
 * the murmur3 finalizer; statistically plenty for test inputs, not for anything else).
 */
import { randomBytes } from 'node:crypto';

/** A seed from `env[name]` (decimal or 0x-hex), else a fresh random one; an unusable value is refused. */
export function seedFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): { seed: number; fixed: boolean } {
  const text = env[name];
  if (text === undefined || text === '') return { seed: randomBytes(4).readUInt32BE(0), fixed: false };
  const seed = Number(text.trim());
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`${name} must be an integer 0..4294967295 (decimal or 0x-hex), got ${JSON.stringify(text)}`);
  }
  return { seed, fixed: true };
}

export class SeededRandom {
  readonly seed: number;
  #state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer 0..4294967295, got ${seed}`);
    this.seed = seed;
    this.#state = seed;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    this.#state = (this.#state + 0x9e3779b9) >>> 0;
    let z = this.#state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** A uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor((this.u32() / 0x1_0000_0000) * (max - min + 1));
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(0, items.length - 1)];
  }

  /** One of the choices, each with its weight. */
  weighted<T>(choices: ReadonlyArray<readonly [number, () => T]>): T {
    let total = 0;
    for (const [w] of choices) total += w;
    let at = (this.u32() / 0x1_0000_0000) * total;
    for (const [w, make] of choices) {
      if (at < w) return make();
      at -= w;
    }
    return choices[choices.length - 1][1]();
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}
