/**
 * The sources' snapshots and the desired state each plugin receives. A snapshot is checked,
 * frozen and grouped by kind once, when it is accepted; building a plugin's desired state then
 * copies nothing when one source publishes the kinds (the usual case), so a commit costs one pass
 * over the snapshot rather than several.
 */
import type { DesiredState, Intent } from './contracts.js';

/** A source's accepted snapshot: its frozen intents grouped by kind (each list frozen, in order). */
export interface GroupedSnapshot {
  readonly size: number;
  readonly byKind: ReadonlyMap<string, readonly Intent[]>;
  /** the accepted (frozen) intents in the order they came */
  readonly accepted: readonly Intent[];
}

/**
 * Checks that every intent has a kind in `known`, freezes it (a frozen intent is kept as it is:
 * sources reuse unchanged ones; any other is copied first) and groups the intents by kind, in one
 * pass. Returns the problem with the first bad intent as a string. An intent that is the very
 * object accepted at the same place of `previous` is known to be frozen (sources that keep their
 * unchanged intents in place skip the isFrozen check, which costs more than the rest).
 */
export function groupSnapshot(
  intents: readonly Intent[],
  known: ReadonlyMap<string, unknown>,
  previous?: GroupedSnapshot,
): GroupedSnapshot | string {
  if (!Array.isArray(intents)) return 'a snapshot must be an array of intents';
  const before = previous?.accepted ?? [];
  const accepted = new Array<Intent>(intents.length);
  // runs of one kind: [kind, start, end] (sources list their intents kind by kind)
  const runs: [string, number, number][] = [];
  let run: [string, number, number] | undefined;
  for (let i = 0; i < intents.length; i++) {
    const intent = intents[i] as Partial<Intent> | null;
    const kind = intent?.kind;
    if (run === undefined || kind !== run[0]) {
      if (typeof kind !== 'string' || !known.has(kind)) {
        const consumed = [...known.keys()].join(', ') || '(none)';
        return `intent ${i} has kind ${JSON.stringify(kind)}, which no configured plugin consumes; consumed kinds: ${consumed}`;
      }
      runs.push((run = [kind, i, i]));
    }
    run[2] = i + 1;
    accepted[i] = intent === before[i] || Object.isFrozen(intent) ? (intent as Intent) : Object.freeze({ ...(intent as Intent) });
  }
  const byKind = new Map<string, readonly Intent[]>();
  for (const [kind, from, to] of runs) {
    const list = accepted.slice(from, to);
    const earlier = byKind.get(kind);
    byKind.set(kind, earlier === undefined ? list : [...earlier, ...list]);
  }
  for (const list of byKind.values()) Object.freeze(list);
  return { size: intents.length, byKind, accepted };
}

/** All intents of all snapshots (in the given order), by kind; a kind of one snapshot only is its list as it is. */
export function mergeSnapshots(snapshots: Iterable<GroupedSnapshot>): Map<string, readonly Intent[]> {
  const byKind = new Map<string, readonly Intent[]>();
  for (const snapshot of snapshots) {
    for (const [kind, list] of snapshot.byKind) {
      const before = byKind.get(kind);
      if (list.length === 0 && before !== undefined) continue;
      byKind.set(kind, before === undefined || before.length === 0 ? list : [...before, ...list]);
    }
  }
  return byKind;
}

/**
 * The slice of `merged` a plugin consuming `kinds` receives: exactly those kinds, each present (an
 * empty list means "none wanted", so the plugin removes what it had).
 */
export function desiredStateFor(merged: ReadonlyMap<string, readonly Intent[]>, kinds: readonly string[]): DesiredState {
  return new Map(kinds.map((kind) => [kind, merged.get(kind) ?? []] as const));
}

/** The kinds present in any of the given snapshots. */
export function kindsOf(...snapshots: (GroupedSnapshot | undefined)[]): Set<string> {
  const kinds = new Set<string>();
  for (const snapshot of snapshots) for (const kind of snapshot?.byKind.keys() ?? []) kinds.add(kind);
  return kinds;
}
