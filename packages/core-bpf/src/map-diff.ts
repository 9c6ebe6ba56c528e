/** The difference between a map's entries and the desired entries, on encoded bytes (pure). */
import { InvalidArgumentError } from './errors.js';

export interface EntryDiff {
  /** Entries to write: new keys and keys whose value changed. */
  readonly upserts: Array<[Buffer, Buffer]>;
  /** Keys to remove (for array-like maps: to reset to zero, see `diffEntries`). */
  readonly removals: Buffer[];
  readonly added: number;
  readonly changed: number;
  readonly unchanged: number;
}

const isZero = (b: Buffer) => b.every((x) => x === 0);

/**
 * What to write and remove so that `actual` becomes `desired`. Desired keys must be unique (a key
 * given twice with different values is rejected). With `arrayLike`, keys cannot be removed: a
 * missing key means "all-zero value", so only non-zero actual values are listed in `removals`.
 */
export function diffEntries(
  actual: Iterable<readonly [Buffer, Buffer]>,
  desired: Iterable<readonly [Buffer, Buffer]>,
  options: { arrayLike?: boolean } = {},
): EntryDiff {
  const want = new Map<string, [Buffer, Buffer]>();
  for (const [k, v] of desired) {
    const id = k.toString('hex');
    const prev = want.get(id);
    if (prev && !prev[1].equals(v)) {
      throw new InvalidArgumentError(`desired entries give key ${id} twice with different values`);
    }
    want.set(id, [k, v]);
  }
  const upserts: Array<[Buffer, Buffer]> = [];
  const removals: Buffer[] = [];
  const seen = new Set<string>();
  let changed = 0;
  let unchanged = 0;
  for (const [k, v] of actual) {
    const id = k.toString('hex');
    seen.add(id);
    const target = want.get(id);
    if (!target) {
      if (options.arrayLike && isZero(v)) unchanged++;
      else removals.push(k);
    } else if (target[1].equals(v)) {
      unchanged++;
    } else {
      upserts.push(target);
      changed++;
    }
  }
  let added = 0;
  for (const [id, entry] of want) {
    if (seen.has(id)) continue;
    upserts.push(entry);
    added++;
  }
  return { upserts, removals, added, changed, unchanged };
}
