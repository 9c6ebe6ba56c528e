/**
 * A source's intents changed by key (`IntentSink.commitChange`): upserts and removals touch only
 * the kinds they name, each kind's list is copied once per change (pointers only) and the rest is
 * shared, so the cost of one change does not grow with the intents of other kinds, and within a
 * kind it is one copy of the list instead of a check and a grouping of every intent. A removed
 * intent's place is taken by the last one of its kind. The key index is shared between versions and
 * reverted by `undo` when the change is refused.
 */
import type { Intent, IntentChange } from './contracts.js';
import type { GroupedSnapshot } from './desired-state.js';

/** Where each key's intent is: its kind and position in that kind's list. */
type KeyIndex = Map<string, { readonly kind: string; readonly at: number }>;

/** A source's intents: grouped like a snapshot, plus (once it used changes) its keys. */
export interface KeyedIntents extends GroupedSnapshot {
  /** shared by the versions of one source's intents and mutated in place (undo reverts a refused change) */
  readonly keyed?: { readonly index: KeyIndex; readonly keysByKind: Map<string, string[]> };
}

export interface AppliedChange {
  readonly next: KeyedIntents;
  /** the kinds whose lists changed */
  readonly changed: Set<string>;
  /** reverts the shared key index to `previous` (call before going back to it) */
  readonly undo: () => void;
}

const frozen = (intent: Intent): Intent => (Object.isFrozen(intent) ? intent : Object.freeze({ ...intent }));

/** Keys for the intents of a snapshot (not known to the source: only a reset replaces them). */
const snapshotKey = (kind: string, i: number): string => `\u0000${kind}\u0000${i}`;

function indexOf(previous: KeyedIntents | undefined): { index: KeyIndex; keysByKind: Map<string, string[]> } {
  if (previous?.keyed) return previous.keyed;
  const index: KeyIndex = new Map();
  const keysByKind = new Map<string, string[]>();
  for (const [kind, list] of previous?.byKind ?? []) {
    const keys = list.map((_, i) => snapshotKey(kind, i));
    keys.forEach((key, at) => index.set(key, { kind, at }));
    keysByKind.set(kind, keys);
  }
  return { index, keysByKind };
}

/** A problem with the change as a string (nothing applied), or the new version. */
export function applyIntentChange(
  previous: KeyedIntents | undefined,
  change: IntentChange,
  known: ReadonlyMap<string, unknown>,
): AppliedChange | string {
  if (change === null || typeof change !== 'object') return 'a change must be { upsert?, remove?, reset? }';
  const upsert = change.upsert ?? [];
  const remove = change.remove ?? [];
  if (!Array.isArray(upsert) || !Array.isArray(remove)) return 'upsert and remove must be arrays';
  // check everything before touching anything
  const seen = new Set<string>();
  for (const [i, entry] of upsert.entries()) {
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
  for (const [i, key] of remove.entries()) {
    if (typeof key !== 'string') return `remove ${i}: the key must be a string`;
    if (seen.has(key)) return `remove ${i}: key ${JSON.stringify(key)} is also upserted`;
    if (!(baseIndex?.has(key) ?? false)) return `remove ${i}: no intent has key ${JSON.stringify(key)}`;
  }

  const { index, keysByKind } = change.reset ? { index: new Map() as KeyIndex, keysByKind: new Map<string, string[]>() } : indexOf(base);
  const byKind = new Map(change.reset ? [] : (base?.byKind ?? []));
  // the shared index and key lists change in place; the log reverts them (newest first)
  const log: (() => void)[] = [];
  const set = (key: string, value: { kind: string; at: number } | undefined): void => {
    const was = index.get(key);
    if (!change.reset) log.push(() => (was ? index.set(key, was) : index.delete(key)));
    if (value) index.set(key, value);
    else index.delete(key);
  };
  const keysOf = (kind: string): string[] => {
    let keys = keysByKind.get(kind);
    if (!keys) keysByKind.set(kind, (keys = []));
    return keys;
  };
  const setKey = (keys: string[], at: number, key: string | undefined): void => {
    const was = keys[at];
    const length = keys.length;
    if (!change.reset) {
      log.push(() => {
        if (at >= length) keys.length = length; // undo a push
        else {
          keys.length = Math.max(keys.length, length); // undo a pop, or a replacement
          keys[at] = was;
        }
      });
    }
    if (key === undefined) keys.pop();
    else keys[at] = key;
  };
  // each changed kind's list (handed to plugins: a new array), copied once
  const lists = new Map<string, { list: Intent[]; keys: string[] }>();
  const open = (kind: string): { list: Intent[]; keys: string[] } => {
    let l = lists.get(kind);
    if (!l) lists.set(kind, (l = { list: (byKind.get(kind) ?? []).slice(), keys: keysOf(kind) }));
    return l;
  };
  const drop = (key: string): void => {
    const where = index.get(key)!;
    const l = open(where.kind);
    const last = l.list.length - 1;
    if (where.at !== last) {
      l.list[where.at] = l.list[last];
      const moved = l.keys[last];
      setKey(l.keys, where.at, moved);
      set(moved, { kind: where.kind, at: where.at });
    }
    l.list.pop();
    setKey(l.keys, last, undefined);
    set(key, undefined);
  };
  for (const key of remove) drop(key);
  for (const [key, intent] of upsert) {
    const where = index.get(key);
    const value = frozen(intent);
    if (where && where.kind === value.kind) {
      open(where.kind).list[where.at] = value;
      continue;
    }
    if (where) drop(key);
    const l = open(value.kind);
    set(key, { kind: value.kind, at: l.list.length });
    l.list.push(value);
    setKey(l.keys, l.keys.length, key);
  }
  let size = 0;
  for (const [kind, l] of lists) {
    if (l.list.length === 0) {
      byKind.delete(kind);
    } else {
      // not frozen: freezing a large array makes every later read of it slow; nothing writes to it
      byKind.set(kind, l.list);
    }
  }
  for (const list of byKind.values()) size += list.length;
  const changed = new Set<string>([...lists.keys(), ...(change.reset ? (previous?.byKind.keys() ?? []) : [])]);
  const next: KeyedIntents = { size, byKind, accepted: [], keyed: { index, keysByKind } };
  const undo = (): void => {
    for (let i = log.length - 1; i >= 0; i--) log[i]();
  };
  return { next, changed, undo };
}
