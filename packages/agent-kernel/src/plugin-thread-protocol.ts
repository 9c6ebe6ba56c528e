/**
 * The messages between the agent (main thread) and a plugin's worker thread. Types only: both
 * sides import them with `import type`, so the worker entry stays free of relative runtime imports.
 */
import type { Intent } from './contracts.js';

/** What the worker needs to import and create the plugin (structured-clonable). */
export interface PluginThreadData {
  readonly bpfsteerPluginThread: true;
  readonly id: string;
  /** module URL and export name of the PluginFactory */
  readonly module: string;
  readonly export: string;
  readonly config: unknown;
  readonly pinRoot: string;
  /** PluginContext.provided by each token's `Symbol.for` key (a symbol cannot be cloned) */
  readonly provided: ReadonlyMap<string, unknown>;
  readonly logLevel: string;
  /** the agent has a socket-handle registry: the plugin's context resolves handles by the `handles` tables sent */
  readonly socketHandles?: true;
}

/**
 * The changes of one kind's intent list since the previous message: the positions whose intent is
 * another object now (`at`, ascending) with those intents, and the new length. `all` replaces the
 * whole list instead (or, with `append`, extends it). The lists are intent arrays on the agent's
 * side and `IntentRows` on the wire (`KindPatch<IntentRows>`).
 */
export type KindPatch<List = readonly Intent[]> =
  | { readonly kind: string; readonly length: number; readonly at: readonly number[]; readonly intents: List }
  | { readonly kind: string; readonly all: List; readonly append?: true };

/**
 * Intents as they cross to a plugin's thread: one flat array of plain values instead of an object
 * per intent (and per nested object). A structured clone of 100,000 intents as objects writes every
 * property name of every intent; as rows it writes each shape's names once and about half the bytes,
 * and the thread rebuilds the objects in ~60% of the time it took to deserialise them.
 *
 * `values` holds, for each intent in order, its shape's number in `shapes` followed by its leaf
 * values in the shape's order (a nested plain object's values in place, by its own shape). Shape
 * `-1` is followed by the intent itself (one that is not a plain object, or of a shape beyond the
 * shapes a message keeps), cloned as it is.
 */
export interface IntentRows {
  readonly shapes: readonly RowShape[];
  readonly values: readonly unknown[];
}

/** A plain object's property names in order; `[name, shape]` for a property holding a nested plain object. */
export type RowShape = readonly (string | readonly [string, RowShape])[];

export type PluginMethod = 'open' | 'load' | 'seed' | 'attach' | 'apply' | 'status' | 'metrics' | 'describe' | 'close';

/** main -> worker */
export type ToPluginThread =
  | {
      readonly t: 'call';
      readonly id: number;
      readonly method: PluginMethod;
      readonly args: readonly unknown[];
      /** an apply's desired state (its last slice; earlier ones come ahead as `patch`), taken before the call runs */
      readonly patches?: readonly KindPatch<IntentRows>[];
      /** the registry's open socket handles and their fds (process-wide), with an apply when they changed */
      readonly handles?: ReadonlyMap<string, number>;
    }
  /** parts of the next apply's desired state, sent ahead of its `apply` call in bounded slices */
  | { readonly t: 'patch'; readonly patches: readonly KindPatch<IntentRows>[] }
  | { readonly t: 'watch'; readonly sub: number; readonly topic: string }
  | { readonly t: 'unwatch'; readonly sub: number }
  | { readonly t: 'abort'; readonly reason: string }
  /** send the next part of call `id`'s result (see ResultArray) */
  | { readonly t: 'more'; readonly id: number };

/**
 * A large array of a result (more elements than one message should carry: a message is
 * deserialised in one step on the agent's thread), sent apart: `path` is where it goes in the
 * result's `value` (which holds an empty array there meanwhile), `length` its element count. Its
 * elements follow in `part` messages, one per `more` the agent sends when its loop has turned.
 */
export interface ResultArray {
  readonly path: readonly string[];
  readonly length: number;
}

/** An error as it crosses the thread boundary. */
export interface ThreadError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

/** worker -> main */
export type FromPluginThread =
  | { readonly t: 'ready' }
  | { readonly t: 'result'; readonly id: number; readonly value: unknown; readonly arrays?: readonly ResultArray[] }
  /** the next elements of the result's arrays (in the order of `arrays`; a part never spans two arrays) */
  | { readonly t: 'part'; readonly id: number; readonly items: readonly unknown[] }
  | { readonly t: 'error'; readonly id: number; readonly error: ThreadError }
  | { readonly t: 'fatal'; readonly error: ThreadError }
  | { readonly t: 'log'; readonly line: string }
  | { readonly t: 'event'; readonly sub: number; readonly event: unknown };
