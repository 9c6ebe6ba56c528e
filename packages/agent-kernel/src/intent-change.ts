/**
 * A source's intents changed by key (`IntentSink.commitChange`): upserts and removals touch only
 * the kinds they name, and each kind's list is changed in place (a `VersionedList`: no copy per
 * change), so the cost of one change does not grow with the number of intents. A removed intent's
 * place is taken by the last one of its kind. A refused change is undone: the key index through
 * its undo log, the lists by reverting them to the version before (a new version, so a plugin
 * thread that already saw the refused one is told what changed back).
 */
import type { Intent, IntentChange } from './contracts.js';
import type { GroupedSnapshot } from './desired-state.js';
import { runSteps, runStepsInSlices, type Steps, TimeSlicer } from './time-slicer.js';
import { VersionedList } from './versioned-list.js';
import { ShardedMap, ShardedSet } from './sharded-map.js';

/**
 * One kind's intents of a source and their keys, position by position (the key of `list.items[i]`
 * is `keys[i]`), with the kind's number in the key index.
 */
interface KindKeys {
  readonly kind: string;
  readonly no: number;
  readonly list: VersionedList;
  readonly keys: string[];
}

/**
 * A source's kinds are numbered, and the key index holds where each key's intent is as one number,
 * `position * KIND_SLOTS + kind number`: no object per key (100,000 keys: ~4 MB less, and no
 * allocation per upsert). Positions below 2^21 stay small integers (no heap number); larger ones
 * are still exact.
 */
const KIND_SLOTS = 1024;

/** Where the key index's entry points: the kind's keys and the position in its list. */
const kindOf = (kinds: readonly KindKeys[], entry: number): KindKeys => kinds[entry % KIND_SLOTS]!;
const positionOf = (entry: number): number => Math.floor(entry / KIND_SLOTS);

/** The keys of a source that used changes (shared by the versions of its intents, changed in place). */
export interface SourceKeys {
  /** key -> `position * KIND_SLOTS + kind number` (sharded: it grows by 100,000 keys in one batch) */
  readonly index: ShardedMap<number>;
  /** by kind number (a kind emptied keeps its number) */
  readonly kinds: KindKeys[];
  readonly byName: Map<string, KindKeys>;
}

/** A source's intents: grouped like a snapshot, plus (once it used changes) its keys. */
export interface KeyedIntents extends GroupedSnapshot {
  /** shared by the versions of one source's intents and mutated in place (undo reverts a refused change) */
  readonly keyed?: SourceKeys;
}

/** Where `key`'s intent is (undefined: no intent has it). */
export function placeOf(keyed: SourceKeys, key: string): { readonly kind: string; readonly at: number } | undefined {
  const entry = keyed.index.get(key);
  return entry === undefined ? undefined : { kind: kindOf(keyed.kinds, entry).kind, at: positionOf(entry) };
}

export interface AppliedChange {
  readonly next: KeyedIntents;
  /** the kinds whose lists changed */
  readonly changed: Set<string>;
  /** reverts the shared key index to `previous` (call before going back to it) */
  readonly undo: () => void;
}

/** An upserted intent is handed over (IntentChange): frozen as it is, not copied (one copy of each intent). */
const frozen = (intent: Intent): Intent => (Object.isFrozen(intent) ? intent : Object.freeze(intent));

/** Keys for the intents of a snapshot (not known to the source: only a reset replaces them). */
const snapshotKey = (kind: string, i: number): string => `\u0000${kind}\u0000${i}`;

function emptyKeys(): SourceKeys {
  return { index: new ShardedMap(), kinds: [], byName: new Map() };
}

/** A new kind's keys and list, numbered next (undefined: the source has too many kinds). */
function addKind(keyed: SourceKeys, kind: string, items?: readonly Intent[]): KindKeys | undefined {
  if (keyed.kinds.length >= KIND_SLOTS) return undefined;
  const k: KindKeys = { kind, no: keyed.kinds.length, list: new VersionedList(items), keys: [] };
  keyed.kinds.push(k);
  keyed.byName.set(kind, k);
  return k;
}

function keysOf(previous: KeyedIntents | undefined): SourceKeys {
  if (previous?.keyed) return previous.keyed;
  const keyed = emptyKeys();
  for (const [kind, list] of previous?.byKind ?? []) {
    const k = addKind(keyed, kind, list)!; // a snapshot's kinds are consumed ones: far fewer than KIND_SLOTS
    for (let i = 0; i < list.length; i++) {
      const key = snapshotKey(kind, i);
      k.keys.push(key);
      keyed.index.set(key, i * KIND_SLOTS + k.no);
    }
  }
  return keyed;
}

/** Above this many upserts and removals a change is taken in slices (`applyIntentChangeSliced`). */
export const SLICED_CHANGE = 2048;

/** A problem with the change as a string (nothing applied), or the new version. */
export function applyIntentChange(
  previous: KeyedIntents | undefined,
  change: IntentChange,
  known: ReadonlyMap<string, unknown>,
): AppliedChange | string {
  return runSteps(changeSteps(previous, change, known));
}

/**
 * The same in slices that let the event loop run between them (a change of 100,000 intents takes a
 * few hundred ms). The caller keeps the source's intents from being read or changed meanwhile: the
 * lists are half-changed until it resolves.
 */
export function applyIntentChangeSliced(
  previous: KeyedIntents | undefined,
  change: IntentChange,
  known: ReadonlyMap<string, unknown>,
  slicer = new TimeSlicer(),
): Promise<AppliedChange | string> {
  return runStepsInSlices(changeSteps(previous, change, known), slicer);
}

/** Yields every STEP items. */
const STEP = 512;

/**
 * The change's steps. `keysFirst`: look for a key listed twice before anything is touched (a set of
 * every upserted key); without it (a change without removals, the usual batch), a key listed twice
 * is found while the change is applied, which is then undone: one index operation less per key.
 */
function* changeSteps(
  previous: KeyedIntents | undefined,
  change: IntentChange,
  known: ReadonlyMap<string, unknown>,
  keysFirst?: boolean,
): Steps<AppliedChange | string> {
  if (change === null || typeof change !== 'object') return 'a change must be { upsert?, remove?, reset? }';
  const upsert = change.upsert ?? [];
  const remove = change.remove ?? [];
  if (!Array.isArray(upsert) || !Array.isArray(remove)) return 'upsert and remove must be arrays';
  // a reset without removals builds everything anew: checked while it is built
  if (change.reset && remove.length === 0) return yield* resetSteps(previous, upsert, known);

  // check everything before touching anything (the index is shared with the previous version)
  const seen = (keysFirst ?? remove.length > 0) ? new ShardedSet() : undefined;
  let lastKind: unknown;
  for (let i = 0; i < upsert.length; i++) {
    if (i % STEP === STEP - 1) yield;
    const entry = upsert[i];
    // read by index: a destructuring's iterator was ~70 bytes of garbage per intent until V8 optimised it
    const key: unknown = Array.isArray(entry) ? entry[0] : undefined;
    const intent: unknown = Array.isArray(entry) ? entry[1] : undefined;
    if (typeof key !== 'string') return `upsert ${i}: the key must be a string`;
    if (seen) {
      const size = seen.size;
      if (seen.add(key).size === size) return listedTwice(i, key);
    }
    const kind = (intent as Partial<Intent> | null)?.kind;
    if (kind !== lastKind || typeof kind !== 'string') {
      if (typeof kind !== 'string' || !known.has(kind)) return unknownKind(i, key, kind, known);
      lastKind = kind;
    }
  }
  const base = change.reset ? undefined : previous;
  const baseIndex = base?.keyed?.index;
  for (let i = 0; i < remove.length; i++) {
    if (i % STEP === STEP - 1) yield;
    const key = remove[i];
    if (typeof key !== 'string') return `remove ${i}: the key must be a string`;
    if (seen!.has(key)) return `remove ${i}: key ${JSON.stringify(key)} is also upserted`;
    if (!(baseIndex?.has(key) ?? false)) return `remove ${i}: no intent has key ${JSON.stringify(key)}`;
  }
  // a reset with removals never gets here (nothing is there to remove)

  const keyed = keysOf(base);
  const { index, kinds, byName } = keyed;
  const kindsBefore = kinds.length;
  // undo logs, newest last: the index entries changed (key, what it had) and the keys that are new;
  // per kind the key positions below its length before (position, what it had)
  const indexLog: (string | number)[] = [];
  const added: string[] = [];
  interface Opened {
    readonly k: KindKeys;
    readonly version: number;
    readonly length: number;
    readonly keysLog: (number | string)[];
  }
  const opened = new Map<KindKeys, Opened>();
  let lastOpened: Opened | undefined;
  const open = (k: KindKeys): Opened => {
    if (lastOpened?.k === k) return lastOpened;
    let o = opened.get(k);
    if (!o) {
      k.list.begin();
      opened.set(k, (o = { k, version: k.list.version, length: k.keys.length, keysLog: [] }));
    }
    return (lastOpened = o);
  };
  const setKey = (o: Opened, at: number, key: string | undefined): void => {
    const { keys } = o.k;
    if (at < o.length) o.keysLog.push(at, keys[at]!);
    if (key === undefined) keys.pop();
    else keys[at] = key;
  };
  /** Removes `key` (at `entry`): the last intent of its kind takes its place. */
  const drop = (key: string, entry: number): void => {
    const k = kindOf(kinds, entry);
    const at = positionOf(entry);
    const o = open(k);
    const last = k.list.length - 1;
    if (at !== last) {
      k.list.set(at, k.list.items[last]!);
      const moved = k.keys[last]!;
      setKey(o, at, moved);
      indexLog.push(moved, last * KIND_SLOTS + k.no);
      index.set(moved, at * KIND_SLOTS + k.no);
    }
    k.list.pop();
    setKey(o, last, undefined);
    indexLog.push(key, entry);
    index.delete(key);
  };
  let done = 0;
  for (let i = 0; i < remove.length; i++) {
    if (++done % STEP === 0) yield;
    drop(remove[i]!, index.get(remove[i]!)!);
  }
  /** Puts everything back (the lists' changes ended first, so that they are reverted too). */
  const refuse = (): void => {
    for (const o of opened.values()) o.k.list.end();
    undo();
  };
  let last: KindKeys | undefined;
  for (let i = 0; i < upsert.length; i++) {
    if (++done % STEP === 0) yield;
    const pair = upsert[i]!; // (read by index: no destructuring's iterator per intent)
    const key = pair[0];
    const value = frozen(pair[1]);
    const entry = index.get(key);
    if (entry !== undefined) {
      const k = kindOf(kinds, entry);
      const at = positionOf(entry);
      // not checked first: only replacements and appends happened so far, so an entry added by this
      // change, or a position it replaced already, is a key listed twice
      if (!seen && at >= open(k).length) {
        refuse();
        return listedTwice(i, key);
      }
      if (k.kind === value.kind) {
        open(k);
        if (seen) k.list.set(at, value);
        else if (!k.list.setOnce(at, value)) {
          refuse();
          return listedTwice(i, key);
        }
        continue;
      }
      // to another kind: intents move, which the check while applying cannot follow
      if (!seen) {
        refuse();
        return yield* changeSteps(previous, change, known, true);
      }
      drop(key, entry); // its old entry is logged there
    }
    if (last?.kind !== value.kind) {
      const k = byName.get(value.kind) ?? addKind(keyed, value.kind);
      if (!k) {
        refuse();
        return tooManyKinds;
      }
      last = k;
    }
    const o = open(last);
    index.set(key, last.list.length * KIND_SLOTS + last.no);
    if (entry === undefined) added.push(key);
    last.list.push(value);
    setKey(o, last.keys.length, key);
  }
  for (const { k } of opened.values()) k.list.end();
  const changed = new Set<string>();
  for (const { k } of opened.values()) changed.add(k.kind);
  function undo(): void {
    for (let i = indexLog.length - 2; i >= 0; i -= 2) index.set(indexLog[i] as string, indexLog[i + 1] as number);
    for (const key of added) index.delete(key);
    for (const { k, version, length, keysLog } of opened.values()) {
      for (let i = keysLog.length - 2; i >= 0; i -= 2) k.keys[keysLog[i] as number] = keysLog[i + 1] as string;
      k.keys.length = length;
      k.list.revertTo(version);
    }
    for (const { kind } of kinds.splice(kindsBefore)) byName.delete(kind);
  }
  return { next: intentsOf(keyed), changed, undo };
}

const tooManyKinds = `a source's intents may have at most ${KIND_SLOTS} kinds`;

const listedTwice = (i: number, key: string): string => `upsert ${i}: key ${JSON.stringify(key)} is listed twice`;

function unknownKind(i: number, key: string, kind: unknown, known: ReadonlyMap<string, unknown>): string {
  const consumed = [...known.keys()].join(', ') || '(none)';
  return `upsert ${i} (key ${JSON.stringify(key)}) has kind ${JSON.stringify(kind)}, which no configured plugin consumes; consumed kinds: ${consumed}`;
}

/** The grouped intents of `keyed` (the kinds that have any). */
function intentsOf(keyed: SourceKeys): KeyedIntents {
  const byKind = new Map<string, readonly Intent[]>();
  let size = 0;
  for (const { kind, list } of keyed.kinds) {
    if (list.length === 0) continue;
    byKind.set(kind, list.items);
    size += list.length;
  }
  return { size, byKind, accepted: [], keyed };
}

/**
 * A reset (without removals): new keys and lists, built while the upserts are checked (nothing
 * shared is touched, so a refusal half-way just drops them). One index operation per key: a key
 * listed twice shows as an index that did not grow.
 */
function* resetSteps(
  previous: KeyedIntents | undefined,
  upsert: NonNullable<IntentChange['upsert']>,
  known: ReadonlyMap<string, unknown>,
): Steps<AppliedChange | string> {
  const index = new ShardedMap<number>();
  const groups = new Map<string, { readonly no: number; readonly keys: string[]; readonly items: Intent[] }>();
  let lastKind: unknown;
  let last: { readonly no: number; readonly keys: string[]; readonly items: Intent[] } | undefined;
  for (let i = 0; i < upsert.length; i++) {
    if (i % STEP === STEP - 1) yield;
    const entry = upsert[i];
    const key: unknown = Array.isArray(entry) ? entry[0] : undefined;
    const intent: unknown = Array.isArray(entry) ? entry[1] : undefined;
    if (typeof key !== 'string') return `upsert ${i}: the key must be a string`;
    const kind = (intent as Partial<Intent> | null)?.kind;
    if (kind !== lastKind || last === undefined) {
      if (typeof kind !== 'string' || !known.has(kind)) return unknownKind(i, key, kind, known);
      last = groups.get(kind);
      if (!last) {
        if (groups.size >= KIND_SLOTS) return tooManyKinds;
        groups.set(kind, (last = { no: groups.size, keys: [], items: [] }));
      }
      lastKind = kind;
    }
    const size = index.size;
    if (index.set(key, last.items.length * KIND_SLOTS + last.no).size === size) return listedTwice(i, key);
    last.items.push(frozen(intent as Intent));
    last.keys.push(key);
  }
  const keyed: SourceKeys = { index, kinds: [], byName: new Map() };
  for (const [kind, { no, keys, items }] of groups) {
    const k: KindKeys = { kind, no, list: new VersionedList(items), keys };
    keyed.kinds.push(k);
    keyed.byName.set(kind, k);
  }
  const changed = new Set<string>(previous?.byKind.keys());
  for (const kind of groups.keys()) changed.add(kind);
  return { next: intentsOf(keyed), changed, undo: () => undefined };
}
