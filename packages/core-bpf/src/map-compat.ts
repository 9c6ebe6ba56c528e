/** Pure comparison of a map's definition with what a caller expects of it (pins, typed maps). */
import type { MapType } from './map-type.js';

/** What a caller requires of an existing map; unset fields are not checked. */
export interface MapExpectation {
  readonly type?: MapType;
  readonly keySize?: number;
  readonly valueSize?: number;
  readonly maxEntries?: number;
  readonly flags?: number;
}

export interface MapShape {
  readonly type: MapType;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
}

const labels: Record<keyof MapShape, string> = {
  type: 'type',
  keySize: 'key size',
  valueSize: 'value size',
  maxEntries: 'max entries',
  flags: 'flags',
};

/** Each difference as "key size 8, expected 12"; empty when compatible. */
export function mapDifferences(actual: MapShape, expected: MapExpectation): string[] {
  const out: string[] = [];
  for (const field of Object.keys(labels) as Array<keyof MapShape>) {
    const want = expected[field];
    if (want === undefined || actual[field] === want) continue;
    const show = (v: string | number) => (field === 'flags' ? `0x${Number(v).toString(16)}` : String(v));
    out.push(`${labels[field]} ${show(actual[field])}, expected ${show(want)}`);
  }
  return out;
}
