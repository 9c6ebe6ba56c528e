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

/** Where one key's intent is: its kind and position in that kind's list. */
interface IndexEntry {
  readonly kind: string;
  readonly at: number;
}
type KeyIndex = Map<string, IndexEntry>;

/** A source's intents: grouped like a snapshot, plus (once it used changes) its keys. */
export interface KeyedIntents extends GroupedSnapshot {
  /** shared by the versions of one source's intents and mutated in place (undo reverts a refused change) */
  readonly keyed?: { readonly index: KeyIndex; readonly keysByKind: Map<string, string[]>; readonly lists: Map<string, VersionedList> };
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

type Keyed = NonNullable<KeyedIntents['keyed']>;

function indexOf(previous: KeyedIntents | undefined): Keyed {
  if (previous?.keyed) return previous.keyed;
  const index: KeyIndex = new Map();
  const keysByKind = new Map<string, string[]>();
  const lists = new Map<string, VersionedList>();
  for (const [kind, list] of previous?.byKind ?? []) {
    const keys = list.map((_, i) => snapshotKey(kind, i));
    keys.forEach((key, at) => index.set(key, { kind, at }));
    keysByKind.set(kind, keys);
    lists.set(kind, new VersionedList(list));
  }
  return { index, keysByKind, lists };
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

function* changeSteps(
  previous: KeyedIntents | undefined,
  change: IntentChange,
  known: ReadonlyMap<string, unknown>,
): Steps<AppliedChange | string> {
  if (change === null || typeof change !== 'object') return 'a change must be { upsert?, remove?, reset? }';
  const upsert = change.upsert ?? [];
  const remove = change.remove ?? [];
  if (!Array.isArray(upsert) || !Array.isArray(remove)) return 'upsert and remove must be arrays';
  // check everything before touching anything
  const seen = new Set<string>();
  for (let i = 0; i < upsert.length; i++) {
    if (i % STEP === STEP - 1) yield;
    const entry = upsert[i];
    const [key, intent] = Array.isArray(entry) ? entry : [];
    if (typeof key !== 'string') return `upsert ${i}: the key must be a string`;
    if (seen.has(key)) return `upsert ${i}: key ${JSON.stringify(key)} is listed twice`;
    seen.add(key);
    const kind = (intent as Partial<Intent> | null)?.kind;
    if (typeof kind !== 'string' || !known.has(kind)) {
      const consumed = [...known.keys()].join(', ') || '(none)';
      return `upsert ${i} (key ${JSON.stringify(key)}) has kind ${JSON.stringify(kind)}, which no configured plugin consumes; consumed kinds: ${consumed}`;
    }
  }
  const base = change.reset ? undefined : previous;
  const baseIndex = base?.keyed?.index;
  for (let i = 0; i < remove.length; i++) {
    if (i % STEP === STEP - 1) yield;
    const key = remove[i];
    if (typeof key !== 'string') return `remove ${i}: the key must be a string`;
    if (seen.has(key)) return `remove ${i}: key ${JSON.stringify(key)} is also upserted`;
    if (!(baseIndex?.has(key) ?? false)) return `remove ${i}: no intent has key ${JSON.stringify(key)}`;
  }

  const { index, keysByKind, lists } = change.reset
    ? { index: new Map() as KeyIndex, keysByKind: new Map<string, string[]>(), lists: new Map<string, VersionedList>() }
    : indexOf(base);
  // the shared index and key lists change in place; flat logs revert them (newest first); a reset
  // builds new ones and needs none
  const logged = !change.reset;
  const indexLog: (string | IndexEntry | undefined)[] = []; // key, what it had
  const keysLog: (string[] | number | string | undefined)[] = []; // keys, at, what it had, its length
  const set = (key: string, value: IndexEntry | undefined): void => {
    if (logged) indexLog.push(key, index.get(key));
    if (value) index.set(key, value);
    else index.delete(key);
  };
  const keysOf = (kind: string): string[] => {
    let keys = keysByKind.get(kind);
    if (!keys) keysByKind.set(kind, (keys = []));
    return keys;
  };
  const setKey = (keys: string[], at: number, key: string | undefined): void => {
    if (logged) keysLog.push(keys, at, keys[at], keys.length);
    if (key === undefined) keys.pop();
    else keys[at] = key;
  };
  // each changed kind's list and the version it had before this change
  const opened = new Map<string, { list: VersionedList; keys: string[]; version: number }>();
  const open = (kind: string): { list: VersionedList; keys: string[] } => {
    let l = opened.get(kind);
    if (!l) {
      let list = lists.get(kind);
      if (!list) lists.set(kind, (list = new VersionedList()));
      list.begin();
      opened.set(kind, (l = { list, keys: keysOf(kind), version: list.version }));
    }
    return l;
  };
  const drop = (key: string): void => {
    const where = index.get(key)!;
    const l = open(where.kind);
    const last = l.list.length - 1;
    if (where.at !== last) {
      l.list.set(where.at, l.list.items[last]);
      const moved = l.keys[last];
      setKey(l.keys, where.at, moved);
      set(moved, { kind: where.kind, at: where.at });
    }
    l.list.pop();
    setKey(l.keys, last, undefined);
    set(key, undefined);
  };
  let done = 0;
  for (let i = 0; i < remove.length; i++) {
    if (++done % STEP === 0) yield;
    drop(remove[i]);
  }
  for (let i = 0; i < upsert.length; i++) {
    if (++done % STEP === 0) yield;
    const [key, intent] = upsert[i];
    const where = index.get(key);
    const value = frozen(intent);
    if (where && where.kind === value.kind) {
      open(where.kind).list.set(where.at, value);
      continue;
    }
    if (where) drop(key);
    const l = open(value.kind);
    set(key, { kind: value.kind, at: l.list.length });
    l.list.push(value);
    setKey(l.keys, l.keys.length, key);
  }
  for (const { list } of opened.values()) list.end();
  const byKind = new Map<string, readonly Intent[]>();
  let size = 0;
  for (const [kind, list] of change.reset ? lists : new Map([...(base?.byKind.keys() ?? []), ...opened.keys()].map((k) => [k, lists.get(k)] as const))) {
    const items = list?.items ?? base?.byKind.get(kind) ?? [];
    if (items.length === 0) continue;
    byKind.set(kind, items);
    size += items.length;
  }
  const changed = new Set<string>([...opened.keys(), ...(change.reset ? (previous?.byKind.keys() ?? []) : [])]);
  const next: KeyedIntents = { size, byKind, accepted: [], keyed: { index, keysByKind, lists } };
  const undo = (): void => {
    for (let i = indexLog.length - 2; i >= 0; i -= 2) {
      const was = indexLog[i + 1] as IndexEntry | undefined;
      if (was) index.set(indexLog[i] as string, was);
      else index.delete(indexLog[i] as string);
    }
    for (let i = keysLog.length - 4; i >= 0; i -= 4) {
      const keys = keysLog[i] as string[];
      const at = keysLog[i + 1] as number;
      const length = keysLog[i + 3] as number;
      if (at >= length) keys.length = length; // undo a push
      else {
        keys.length = Math.max(keys.length, length); // undo a pop, or a replacement
        keys[at] = keysLog[i + 2] as string;
      }
    }
    for (const { list, version } of opened.values()) list.revertTo(version);
  };
  return { next, changed, undo };
}
