/** Merging the sources' snapshots into the desired state each plugin receives. */
import type { DesiredState, Intent } from './contracts.js';

/** All intents of all snapshots (in the given order), grouped by kind. */
export function mergeSnapshots(snapshots: Iterable<readonly Intent[]>): Map<string, Intent[]> {
  const byKind = new Map<string, Intent[]>();
  for (const snapshot of snapshots) {
    for (const intent of snapshot) {
      let list = byKind.get(intent.kind);
      if (!list) byKind.set(intent.kind, (list = []));
      list.push(intent);
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

/** The kinds present in any of the given intent lists. */
export function kindsOf(...lists: (readonly Intent[] | undefined)[]): Set<string> {
  const kinds = new Set<string>();
  for (const list of lists) for (const intent of list ?? []) kinds.add(intent.kind);
  return kinds;
}
