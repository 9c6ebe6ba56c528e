/**
 * What changed between two versions of one kind's intent list, by position, for the plugin's
 * worker thread (which applies it with `applyKindPatch`). Comparing positions costs one pointer
 * comparison per intent; only the changed positions cross the thread boundary, so a change of one
 * intent among 100,000 sends one intent. Pure.
 */
import type { Intent, KindChanges } from './contracts.js';
import type { KindPatch } from './plugin-thread-protocol.js';

/** Above this share of changed positions the whole list is sent instead of the positions. */
const WHOLE_LIST_SHARE = 0.5;

/** The patch turning `before` into `after` (undefined: nothing changed). */
export function diffKind(kind: string, before: readonly Intent[], after: readonly Intent[]): KindPatch | undefined {
  if (before === after) return undefined;
  const limit = Math.max(1, Math.floor(after.length * WHOLE_LIST_SHARE));
  const at: number[] = [];
  const common = Math.min(before.length, after.length);
  for (let i = 0; i < common; i++) {
    if (before[i] === after[i]) continue;
    at.push(i);
    if (at.length > limit) return { kind, all: after };
  }
  const appended = after.length - before.length;
  if (appended > limit) {
    return at.length === 0 && before.length > 0 ? { kind, all: after.slice(before.length), append: true } : { kind, all: after };
  }
  for (let i = before.length; i < after.length; i++) at.push(i);
  if (at.length === 0 && appended === 0) return undefined;
  return { kind, length: after.length, at, intents: at.map((i) => after[i]!) };
}

/**
 * The patch of `after` from known changes (positions since the list the thread holds), without
 * comparing the lists again (undefined: nothing changed).
 */
export function patchFromChanges(kind: string, after: readonly Intent[], changes: KindChanges): KindPatch | undefined {
  const { positions } = changes;
  if (positions.length === 0 && changes.before === after.length) return undefined;
  if (positions.length > Math.max(1, Math.floor(after.length * WHOLE_LIST_SHARE))) return { kind, all: after };
  return { kind, length: after.length, at: positions, intents: positions.map((i) => after[i]!) };
}

/** The positions of `after` whose intent is not the one at the same place of `before`. */
export function changedPositions(before: readonly Intent[], after: readonly Intent[]): number[] {
  const positions: number[] = [];
  if (before === after) return positions;
  for (let i = 0; i < after.length; i++) if (before[i] !== after[i]) positions.push(i);
  return positions;
}

/**
 * Splits patches into slices of at most `maxIntents` intents each, so that no single message
 * makes the sending thread serialise a whole large state at once.
 */
export function slicePatches(patches: readonly KindPatch[], maxIntents: number): KindPatch[][] {
  const slices: KindPatch[][] = [];
  let current: KindPatch[] = [];
  let size = 0;
  const push = (patch: KindPatch, n: number): void => {
    if (size > 0 && size + n > maxIntents) {
      slices.push(current);
      current = [];
      size = 0;
    }
    current.push(patch);
    size += n;
  };
  for (const patch of patches) {
    if ('all' in patch) {
      const { kind, all } = patch;
      if (all.length <= maxIntents) {
        push(patch, all.length);
        continue;
      }
      for (let from = 0; from < all.length; from += maxIntents) {
        const part = all.slice(from, from + maxIntents);
        push(from === 0 && !patch.append ? { kind, all: part } : { kind, all: part, append: true }, part.length);
      }
      continue;
    }
    const { kind, length, at, intents } = patch;
    if (at.length <= maxIntents) {
      push(patch, at.length);
      continue;
    }
    for (let from = 0; from < at.length; from += maxIntents) {
      const to = from + maxIntents;
      push({ kind, length, at: at.slice(from, to), intents: intents.slice(from, to) }, Math.min(maxIntents, at.length - from));
    }
  }
  if (current.length > 0) slices.push(current);
  return slices;
}
