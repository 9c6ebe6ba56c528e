/** Checks that a key/value codec pair fits a map: sizes always, field layout when BTF is known. */
import { checkLayout } from './btf/layout-check.js';
import type { Btf } from './btf/btf.js';
import type { Codec } from './codec/codec.js';
import { MapLayoutError } from './errors.js';

export interface MapSizes {
  readonly keySize: number;
  readonly valueSize: number;
}

/** MapLayoutError unless the codecs have the map's key and value sizes. */
export function assertCodecSizes(map: string, sizes: MapSizes, key: Codec<unknown>, value: Codec<unknown>): void {
  const problems: string[] = [];
  if (key.size !== sizes.keySize) {
    problems.push(`key codec ${key.description} is ${key.size} bytes, the map's key is ${sizes.keySize} bytes`);
  }
  if (value.size !== sizes.valueSize) {
    problems.push(`value codec ${value.description} is ${value.size} bytes, the map's value is ${sizes.valueSize} bytes`);
  }
  if (problems.length > 0) throw new MapLayoutError(map, problems.join('; '));
}

/** MapLayoutError unless the codecs match the key/value types in `btf` (type id 0 = unknown, skipped). */
export function assertCodecLayouts(
  map: string,
  btf: Btf,
  typeIds: { key: number; value: number },
  key: Codec<unknown>,
  value: Codec<unknown>,
): void {
  const problems: string[] = [];
  if (typeIds.key > 0) problems.push(...checkLayout(key.layout, btf.layout(typeIds.key), 'key'));
  if (typeIds.value > 0) problems.push(...checkLayout(value.layout, btf.layout(typeIds.value), 'value'));
  if (problems.length > 0) throw new MapLayoutError(map, problems.join('; '));
}
