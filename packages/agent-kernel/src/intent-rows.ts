/**
 * Intents in the compact form they cross to a plugin's thread (`IntentRows`, decoded there by
 * `intentsOfRows` in plugin-worker.ts), and patches in that form. Pure.
 */
import type { Intent } from './contracts.js';
import type { IntentRows, KindPatch, RowShape } from './plugin-thread-protocol.js';

/** How deep nested plain objects are taken apart; deeper ones (and any cycle) are cloned as values. */
const MAX_DEPTH = 3;
/** Shapes one message keeps; intents of further shapes are cloned as they are (shape -1). */
const MAX_SHAPES = 32;

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype;
};

/** Marks, in a path of property names, where a nested plain object's names begin and end. */
const OPEN = {};
const CLOSE = {};
type Step = string | typeof OPEN;

/**
 * The shapes met so far as a tree of their paths (property names, OPEN/CLOSE around a nested
 * object's): an intent's values are written while its path is followed, in one pass, and the node
 * where the path ends knows the shape's number. Most nodes have one next step (kept apart from
 * the map of the others).
 */
interface PathNode {
  step?: Step;
  next?: PathNode;
  others?: Map<Step, PathNode>;
  /** the shape's number when a path ends here (-1: none yet) */
  no: number;
}

const newNode = (): PathNode => ({ no: -1 });

function follow(node: PathNode, step: Step): PathNode {
  if (node.step === step) return node.next!;
  if (node.step === undefined) {
    node.step = step;
    return (node.next = newNode());
  }
  let next = node.others?.get(step);
  if (!next) (node.others ??= new Map()).set(step, (next = newNode()));
  return next;
}

/** Writes `o`'s values to `values` along its path from `node`; returns the node where it ends. */
function write(o: Record<string, unknown>, node: PathNode, values: unknown[], depth: number): PathNode {
  for (const name in o) {
    node = follow(node, name);
    const v = o[name];
    if (depth < MAX_DEPTH && isPlainObject(v)) node = follow(write(v, follow(node, OPEN), values, depth + 1), CLOSE);
    else values.push(v);
  }
  return node;
}

/** The shape of `o` on the wire (the same walk as `write`). */
function shapeOf(o: Record<string, unknown>, depth: number): RowShape {
  const shape: (string | readonly [string, RowShape])[] = [];
  for (const name in o) {
    const v = o[name];
    shape.push(depth < MAX_DEPTH && isPlainObject(v) ? [name, shapeOf(v, depth + 1)] : name);
  }
  return shape;
}

/** `intents` as rows. */
export function intentRows(intents: readonly Intent[]): IntentRows {
  const shapes: RowShape[] = [];
  const values: unknown[] = [];
  const root = newNode();
  for (let i = 0; i < intents.length; i++) {
    const intent = intents[i] as unknown as Record<string, unknown>;
    const mark = values.length;
    values.push(-1);
    if (isPlainObject(intent)) {
      const end = write(intent, root, values, 1);
      if (end.no < 0 && shapes.length < MAX_SHAPES) end.no = shapes.push(shapeOf(intent, 1)) - 1;
      if (end.no >= 0) {
        values[mark] = end.no;
        continue;
      }
      values.length = mark + 1; // beyond the shapes a message keeps: cloned as it is
    }
    values.push(intent);
  }
  return { shapes, values };
}

/** A patch with its intents as rows. */
export function patchRows(patch: KindPatch): KindPatch<IntentRows> {
  if ('all' in patch) return patch.append ? { kind: patch.kind, all: intentRows(patch.all), append: true } : { kind: patch.kind, all: intentRows(patch.all) };
  return { kind: patch.kind, length: patch.length, at: patch.at, intents: intentRows(patch.intents) };
}
