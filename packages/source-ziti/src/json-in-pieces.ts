/**
 * JSON text of many values in pieces, so that no single step over a large list stalls the thread:
 * one JSON.stringify per group of values (V8's fastest path: several times faster than one call per
 * value), a TimeSlicer pause between groups.
 */
import { TimeSlicer } from '@bpfsteer/agent-kernel';

/** Values per JSON.stringify step (~1 ms for rules). */
export const STRINGIFY_GROUP = 512;

/**
 * The JSON text of the elements of `items` (each as `view` makes it), without the array's
 * brackets: one piece per group, the elements of a piece separated by commas (join the pieces with
 * `,` to get the whole).
 */
export async function jsonElementsInPieces<T>(
  items: readonly T[],
  slicer: TimeSlicer = new TimeSlicer(),
  view: (item: T) => unknown = (item) => item,
): Promise<string[]> {
  const pieces: string[] = [];
  for (let i = 0; i < items.length; i += STRINGIFY_GROUP) {
    await slicer.pause();
    pieces.push(JSON.stringify(items.slice(i, i + STRINGIFY_GROUP).map(view)).slice(1, -1));
  }
  return pieces;
}
